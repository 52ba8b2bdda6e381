"""The GraphQL edge: types, inputs, queries, mutations, limits. Resolvers are adapters over services."""
