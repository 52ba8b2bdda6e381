import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGraphQL, operationType } from '../graphql.js';
import { ApiError, NetworkError, unwrap } from '../errors.js';
import { memoryPlatform } from '../platform/memory.js';
import { fakeGraphQLServer, sha256, json } from './core-helpers.mjs';

const HELLO = 'query Hello($name: String!) { hello(name: $name) }';
const SAVE = 'mutation Save($v: Int!) { save(v: $v) }';

function setup(resolvers) {
  const server = fakeGraphQLServer(resolvers || {
    Hello: (vars) => ({ hello: `hi ${vars.name}` }),
    Save: (vars) => ({ save: vars.v + 1 }),
  });
  const platform = memoryPlatform({ handler: server.handle });
  return { server, platform, graphql: createGraphQL({ platform }) };
}

test('APQ miss sends the full text once, then the hash alone hits by GET', async () => {
  const { server, platform, graphql } = setup();
  assert.deepEqual(await graphql(HELLO, { name: 'a' }), { hello: 'hi a' });
  assert.equal(server.misses, 1);
  const [first, second] = platform.requests;
  assert.equal(first.method, 'GET');
  const params = new URL(first.url, 'http://x').searchParams;
  assert.equal(params.get('query'), null);
  assert.equal(JSON.parse(params.get('extensions')).persistedQuery.sha256Hash, sha256(HELLO));
  assert.equal(second.method, 'POST');
  assert.equal(JSON.parse(second.body).query, HELLO);

  platform.requests.length = 0;
  assert.deepEqual(await graphql(HELLO, { name: 'b' }), { hello: 'hi b' });
  assert.equal(platform.requests.length, 1);
  assert.equal(platform.requests[0].method, 'GET');
  assert.equal(server.misses, 1);
});

test('mutations send the hash by POST, never by GET', async () => {
  const { server, platform, graphql } = setup();
  assert.deepEqual(await graphql(SAVE, { v: 1 }), { save: 2 });
  assert.deepEqual(platform.requests.map((r) => r.method), ['POST', 'POST']);
  assert.equal(JSON.parse(platform.requests[0].body).query, undefined);
  assert.equal(platform.requests[0].headers['content-type'], 'application/json');
  await graphql(SAVE, { v: 5 });
  assert.equal(platform.requests.length, 3);
  assert.equal(server.misses, 1);
});

test('a hash the server disagrees with falls back to plain text, and stays plain for that query', async () => {
  const { server, platform, graphql } = setup();
  server.breakHash = true;
  assert.deepEqual(await graphql(HELLO, { name: 'x' }), { hello: 'hi x' });
  const last = JSON.parse(platform.requests[platform.requests.length - 1].body);
  assert.equal(last.extensions, undefined);
  assert.equal(last.query, HELLO);
  platform.requests.length = 0;
  await graphql(HELLO, { name: 'y' });
  assert.equal(platform.requests.length, 1);
  assert.equal(JSON.parse(platform.requests[0].body).extensions, undefined);
});

test('long variables make a query go by POST', async () => {
  const { platform, graphql } = setup();
  await graphql(HELLO, { name: 'z'.repeat(3000) });
  assert.equal(platform.requests[0].method, 'POST');
});

test('top-level errors throw ApiError with code and requestId; union errors are data', async () => {
  const { graphql } = setup({
    Hello: () => json(200, { data: null, errors: [{ message: 'nope', extensions: { code: 'FORBIDDEN' } }],
      extensions: { requestId: 'r-42' } }),
    Save: () => ({ save: { __typename: 'InvalidInputError', code: 'INVALID_INPUT', message: 'bad', path: ['v'] } }),
  });
  await assert.rejects(graphql(HELLO, { name: 'a' }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'FORBIDDEN');
    assert.equal(error.requestId, 'r-42');
    return true;
  });
  const data = await graphql(SAVE, { v: 1 });
  assert.equal(data.save.__typename, 'InvalidInputError');
  assert.throws(() => unwrap(data.save), (error) => error.code === 'INVALID_INPUT' && error.path[0] === 'v');
  assert.deepEqual(unwrap({ __typename: 'Ok', id: '1' }), { __typename: 'Ok', id: '1' });
});

test('transport failures are NetworkError with offline set; unreadable answers are ApiError', async () => {
  const platform = memoryPlatform({ handler: () => 'offline' });
  const graphql = createGraphQL({ platform });
  await assert.rejects(graphql(HELLO, {}), (error) => error instanceof NetworkError && error.offline === true);
  platform.handler = () => ({ status: 502, text: '<html>bad gateway</html>' });
  await assert.rejects(graphql(HELLO, {}), (error) => error instanceof ApiError && error.code === 'SERVER_ERROR');
  await assert.rejects(graphql('', {}), (error) => error.code === 'BAD_REQUEST');
  await assert.rejects(graphql('subscription S { tick }', {}), (error) => error.code === 'BAD_REQUEST');
});

test('operationType reads the operation keyword, by name when several', () => {
  assert.equal(operationType('{ me { id } }'), 'query');
  assert.equal(operationType('# c\n mutation M { x }'), 'mutation');
  assert.equal(operationType('query A { a } mutation B { b }', 'B'), 'mutation');
});

test('a server without APQ gets plain text from then on; RATE_LIMITED carries retryAfterMs', async () => {
  const requests = [];
  const platform = memoryPlatform({
    handler: (req) => {
      requests.push(req);
      const body = req.method === 'POST' ? JSON.parse(req.body) : {};
      if (req.method === 'GET' || body.extensions) {
        return json(200, { errors: [{ message: 'off', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } }] });
      }
      if (body.variables.name === 'flood') {
        return json(429, { errors: [{ message: 'too many requests', extensions: { code: 'RATE_LIMITED', retryAfterMs: 1500 } }] },
          { 'retry-after': '2' });
      }
      return json(200, { data: { hello: body.variables.name } });
    },
  });
  const graphql = createGraphQL({ platform });
  assert.deepEqual(await graphql(HELLO, { name: 'a' }), { hello: 'a' });
  assert.equal(requests.length, 2);
  assert.deepEqual(await graphql(SAVE, { name: 'b' }), { hello: 'b' }); // another query: straight to plain text
  assert.equal(requests.length, 3);
  await assert.rejects(graphql(HELLO, { name: 'flood' }), (error) => {
    assert.equal(error.code, 'RATE_LIMITED');
    assert.equal(error.retryAfterMs, 1500);
    assert.equal(error.status, 429);
    return true;
  });
});

test('a query carrying a password or a code never puts it in a URL', async () => {
  const LOOKUP = 'query Lookup($input: ProgressInput!) { hello(name: $input) }';
  const { platform, graphql } = setup({ Lookup: () => ({ hello: 'found' }), Hello: () => ({ hello: 'hi' }) });
  await graphql(LOOKUP, { input: { projectNo: 'X1', queryPassword: 'secret-9' } });
  await graphql(HELLO, { name: 'a' }, { post: true });
  assert.ok(platform.requests.length >= 2);
  for (const request of platform.requests) {
    assert.equal(request.method, 'POST');
    assert.ok(!request.url.includes('secret-9'));
  }
});
