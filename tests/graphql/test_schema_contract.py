"""The schema is a contract: the committed SDL matches the code, and every root field declares who may call it."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
)
from strawberry.permission import PermissionExtension

from api.settings import GraphQLSettings
from schema.access import POLICIES, Public
from schema.root import SDL_PATH, build_schema, printed_sdl
from tests.support.client import Api

_SAMPLES = {
    "String": "x",
    "ID": "00000000-0000-0000-0000-000000000000",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2030-01-01T00:00:00+08:00",
    "Date": "2030-01-01",
    "Fen": "1",
    "JSON": {},
    "BigIntString": "1",
}


# Values every field must answer with a typed result: not an id, not a code, not a phone.
_GARBAGE = _SAMPLES | {"ID": "not-an-id", "String": "☃' OR 1=1 --", "Int": -1, "Fen": "0"}


def _sample(kind: GraphQLInputType, samples: dict[str, Any] = _SAMPLES) -> Any:
    """A value of `kind` that passes GraphQL validation, so that only the access check can refuse the call."""
    if isinstance(kind, GraphQLNonNull):
        return _sample(kind.of_type, samples)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {name: _sample(f.type, samples) for name, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)}
    assert isinstance(kind, GraphQLScalarType)
    return samples[kind.name]


def _root_fields() -> list[tuple[str, str, Any, Any]]:
    schema = build_schema(GraphQLSettings(), introspection=True)
    graphql_schema: GraphQLSchema = schema._schema
    found = []
    for operation, root in (("query", graphql_schema.query_type), ("mutation", graphql_schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            strawberry_field = schema.get_field_for_type(name, root.name)
            found.append((operation, name, field, strawberry_field))
    return found


def _policy(strawberry_field: Any) -> list[type]:
    policies = []
    for extension in strawberry_field.extensions:
        if isinstance(extension, PermissionExtension):
            policies += [type(p) for p in extension.permissions]
    return [p for p in policies if any(issubclass(p, known) for known in POLICIES)]


class TestCommittedSchema:
    def test_matches_the_code(self) -> None:
        assert SDL_PATH.read_text(encoding="utf-8") == printed_sdl(), "run `make schema` and commit schema.graphql"


class TestEveryRootField:
    def test_declares_exactly_one_access_policy(self) -> None:
        missing = [name for _, name, _, sf in _root_fields() if len(_policy(sf)) != 1]
        assert missing == []

    async def test_refuses_an_anonymous_caller_unless_public(self, api: Api) -> None:
        checked = 0
        guarded = [f for f in _root_fields() if _policy(f[3]) != [Public]]
        for start in range(0, len(guarded), 40):  # a fresh client (its own IP) per 40 calls: rate limits stay out
            async with Api.connect(api.live) as client:
                for operation, name, field, _ in guarded[start : start + 40]:
                    args = {arg_name: _sample(arg.type) for arg_name, arg in field.args.items()}
                    declared = ", ".join(f"${a}: {field.args[a].type}" for a in args)
                    passed = ", ".join(f"{a}: ${a}" for a in args)
                    signature, call = (f"({declared})", f"({passed})") if args else ("", "")
                    query = f"{operation}{signature} {{ {name}{call} {{ __typename }} }}"
                    body = await client.gql(query, args)
                    assert body.get("data") is None or body["data"].get(name) is None, name
                    codes = [error.get("extensions", {}).get("code") for error in body.get("errors", [])]
                    assert codes == ["UNAUTHENTICATED"], (name, body)
                    checked += 1
        assert checked >= 8

    async def test_answers_garbage_input_from_a_signed_in_caller_without_an_unexpected_error(self, api: Api) -> None:
        """Every expected failure must be a member of the field's result union (or an access error): an error
        type a union lacks would reach the client as a masked "Unexpected error."."""
        fields = [f for f in _root_fields() if f[1] != "signOut"]  # signing out would end the caller's session
        unexpected = []
        for start in range(0, len(fields), 20):  # a fresh client and identity per 20 calls: rate limits stay out
            async with Api.connect(api.live) as client:
                session = await client.sign_in()
                for operation, name, field, _ in fields[start : start + 20]:
                    args = {arg_name: _sample(arg.type, _GARBAGE) for arg_name, arg in field.args.items()}
                    declared = ", ".join(f"${a}: {field.args[a].type}" for a in args)
                    passed = ", ".join(f"{a}: ${a}" for a in args)
                    signature, call = (f"({declared})", f"({passed})") if args else ("", "")
                    query = f"{operation}{signature} {{ {name}{call} {{ __typename }} }}"
                    body = await client.gql(query, args, session.access_token)
                    if any(error["message"] == "Unexpected error." for error in body.get("errors", [])):
                        unexpected.append(name)
        assert unexpected == []

    async def test_operator_only_fields_refuse_a_citizen_and_vice_versa(self, api: Api) -> None:
        citizen = await api.sign_in()
        body = await api.gql("query { operatorMe { id } }", token=citizen.access_token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
