// Starts GraphiQL on the page served by src/server/graphiql.rs. It is a file of its own, not an inline script,
// so the page's Content-Security-Policy can allow scripts from this origin only. React, ReactDOM and GraphiQL are
// the globals set by the UMD bundles the page loads before this file.
(function () {
  'use strict';

  var defaultQuery = [
    '# An org chart, two levels deep: who reports to whom',
    '{',
    '  employees(first: 5, filter: { employmentStatus: [WORKING] }) {',
    '    totalCount',
    '    nodes {',
    '      displayName',
    '      jobTitle',
    '      department { name }',
    '      office { name city }',
    '      manager { displayName }',
    '      directReports(first: 10) {',
    '        totalCount',
    '        nodes { displayName jobTitle }',
    '      }',
    '    }',
    '  }',
    '}',
  ].join('\n');

  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.origin).toString() });

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
