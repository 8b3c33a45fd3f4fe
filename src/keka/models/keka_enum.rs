//! Declares Keka's integer enums with a catch-all, so decoding survives values Keka adds later.

/// `keka_enum!(Name { Variant = 0, … })` declares a `Copy` enum with an extra `Unknown(i64)`,
/// decoded from an integer (or, leniently, from a numeric string or the variant's name).
macro_rules! keka_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as Keka sent it.
            Unknown(i64),
        }

        impl $name {
            pub fn from_code(code: i64) -> Self {
                match code {
                    $($code => Self::$variant,)+
                    other => Self::Unknown(other),
                }
            }

            pub fn code(self) -> i64 {
                match self {
                    $(Self::$variant => $code,)+
                    Self::Unknown(code) => code,
                }
            }

            /// Keka's name for the value (as in its API documentation).
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some(stringify!($variant)),)+
                    Self::Unknown(_) => None,
                }
            }

            fn from_name(name: &str) -> Option<Self> {
                $(if name.eq_ignore_ascii_case(stringify!($variant)) { return Some(Self::$variant); })+
                None
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum Wire {
                    Code(i64),
                    Text(String),
                }
                match Wire::deserialize(deserializer)? {
                    Wire::Code(code) => Ok(Self::from_code(code)),
                    Wire::Text(text) => match text.trim().parse::<i64>() {
                        Ok(code) => Ok(Self::from_code(code)),
                        Err(_) => Self::from_name(text.trim()).ok_or_else(|| {
                            serde::de::Error::custom(format!(
                                "unknown {} `{}`",
                                stringify!($name),
                                text
                            ))
                        }),
                    },
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.code())
            }
        }
    };
}

pub(crate) use keka_enum;
