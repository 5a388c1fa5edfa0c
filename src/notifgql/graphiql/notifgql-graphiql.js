// Starts GraphiQL on notifgql's /graphql: queries and mutations over HTTP, subscriptions over
// WebSocket (graphql-transport-ws) at the same address, both with the Headers tab's headers.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("notifgql-graphiql-config").textContent);
  const endpoint = window.location.origin + window.location.pathname;
  const socketUrl = endpoint.replace(/^http/, "ws");
  const overHttp = GraphiQL.createFetcher({ url: endpoint });

  // One WebSocket client, made again when the headers change: they are its connectionParams.
  let socket = null;
  function socketFor(headers) {
    const key = JSON.stringify(headers || {});
    if (socket && socket.key === key) return socket.client;
    if (socket) socket.client.dispose();
    const client = graphqlWs.createClient({
      url: socketUrl,
      connectionParams: headers || {},
      lazy: true,
      retryAttempts: 0,
    });
    socket = { key, client };
    return client;
  }

  function operationOf(params, options) {
    const document = options && options.documentAST;
    if (document) {
      const operations = document.definitions.filter((d) => d.kind === "OperationDefinition");
      const chosen = params.operationName
        ? operations.find((d) => d.name && d.name.value === params.operationName)
        : operations.length === 1 ? operations[0] : null;
      if (chosen) return chosen.operation;
    }
    return /^\s*subscription\b/m.test(params.query) ? "subscription" : "query";
  }

  function asError(problem) {
    if (problem instanceof Error) return problem;
    if (Array.isArray(problem)) return { errors: problem };
    if (problem && typeof problem.code === "number") {
      return new Error(`WebSocket closed: ${problem.code} ${problem.reason || ""}`.trim());
    }
    return new Error(String(problem));
  }

  function fetcher(params, options) {
    if (operationOf(params, options) !== "subscription") return overHttp(params, options);
    const client = socketFor(options && options.headers);
    const payload = {
      query: params.query,
      variables: params.variables,
      operationName: params.operationName,
    };
    return {
      subscribe(observer) {
        const dispose = client.subscribe(payload, {
          next: (value) => observer.next(value),
          error: (problem) => observer.error(asError(problem)),
          complete: () => observer.complete(),
        });
        return { unsubscribe: dispose };
      },
    };
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.defaultHeaders,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    }),
  );
})();
