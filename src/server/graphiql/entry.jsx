// Browser entry for the bundled GraphiQL served at GET /graphql.
// Plain JSX (not TSX) on purpose: the project has no @types/react and no `jsx`
// compiler option, so tsc leaves this file alone; esbuild is its only compiler.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/graphiql.css';

const DEFAULT_QUERY = `# OMTX-Hub GraphQL API. Ctrl-Enter runs the query.
query Models {
  models {
    name
  }
}
`;

const root = document.getElementById('graphiql');
if (!root) throw new Error('GraphiQL: expected an element with id="graphiql" in the page');

// The server writes the endpoint path into the page; the origin and the socket
// scheme come from where the page was loaded, so the same bundle works behind
// TLS (wss:) and on any host or port without rebuilding.
const graphqlPath = root.dataset.graphqlPath || '/graphql';
const url = new URL(graphqlPath, window.location.href);
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = createGraphiQLFetcher({
  url: url.href,
  subscriptionUrl: subscriptionUrl.href,
});

createRoot(root).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultEditorToolsVisibility: false,
  }),
);
