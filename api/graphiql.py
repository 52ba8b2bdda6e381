"""GraphiQL for development: the page loads its scripts from this server (var/graphiql, installed by
`make run` from the npm registry), so that it works on a machine with no internet access."""

from __future__ import annotations

from api.settings import Settings

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8" />
  <title>掌上办 GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/assets/graphiql/graphiql.min.css" />
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL… (run <code>make run</code> once to install its assets)</div>
  <script src="/graphiql/assets/react/umd/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom/umd/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: "{url}" }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true, shouldPersistHeaders: true }})
    );
  </script>
</body>
</html>
"""


def render(settings: Settings) -> str:
    return _PAGE.format(url="/graphql")
