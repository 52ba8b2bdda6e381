"""GraphiQL for development: the page loads its scripts from this server (var/graphiql, installed by
`make run` from the npm registry), so that it works on a machine with no internet access."""

from __future__ import annotations

import json

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
    const defaultQuery = {default_query};
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher, defaultQuery, defaultEditorToolsVisibility: true, shouldPersistHeaders: true
      }})
    );
  </script>
</body>
</html>
"""


# What a newcomer needs first: the sign-in through the SMS sandbox and a `me` query.
_STARTER = """# 1. Run RequestCode, 2. read the code at {sandbox}/sms/messages?phone=19900000001
# 3. Run SignIn with it, 4. put {{"authorization": "Bearer <accessToken>"}} under Headers, 5. run Me.

mutation RequestCode {{
  requestSmsCode(input: {{phone: "19900000001"}}) {{
    __typename
    ... on SmsCodeSent {{ expiresInSeconds }}
    ... on Error {{ code message }}
  }}
}}

mutation SignIn {{
  signInWithSms(input: {{phone: "19900000001", code: "000000"}}) {{
    __typename
    ... on AuthPayload {{ accessToken refreshToken me {{ name sessionLevel }} }}
    ... on Error {{ code message }}
  }}
}}

query Me {{
  me {{ id name maskedIdNumber maskedMobile assuranceLevel sessionLevel bindings {{ provider subjectHint }} }}
  myEnterprises {{ role enterprise {{ name uscc }} }}
}}
"""


def render(settings: Settings) -> str:
    starter = _STARTER.format(sandbox=settings.sandbox_base_url)
    return _PAGE.format(url="/graphql", default_query=json.dumps(starter))
