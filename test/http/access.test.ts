import { expect } from 'chai';
import { checkSecret, authorizeWith, requestedSessionId, requestSecret, requireBearerToken } from '../../src/http/access.js';
import { httpErrors } from '../../src/http/errors.js';
import type { Session } from '../../src/session/session.js';
import { startApp, type TestApp } from '../support/koa-app.js';

describe('access checks: bearer token, authorize hook, session secrets', () => {
  let app: TestApp | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${app!.url}${path}`, { headers });

  it('requireBearerToken lets the exact token through and refuses anything else with 401 and WWW-Authenticate', async () => {
    app = await startApp((koa) => {
      koa.use(requireBearerToken('s3cret-Token'));
      koa.use((ctx) => void (ctx.body = 'in'));
    });
    for (const authorization of ['Bearer s3cret-Token', 'bearer s3cret-Token']) {
      const response = await get('/', { authorization });
      expect(response.status, authorization).to.equal(200);
      expect(await response.text()).to.equal('in');
    }
    const refused = ['', 'Bearer', 'Bearer ', 'Bearer s3cret-Toke', 'Bearer s3cret-Tokenx', 'Bearer s3cret-Token extra', 'xBearer s3cret-Token', 'Basic s3cret-Token', 'Bearer S3CRET-TOKEN', 'Bearer s'];
    for (const authorization of refused) {
      const response = await get('/', authorization ? { authorization } : {});
      expect(response.status, authorization).to.equal(401);
      expect(response.headers.get('www-authenticate'), authorization).to.equal('Bearer');
      expect(await response.json()).to.deep.equal({ error: 'UNAUTHORIZED', message: 'This route requires Authorization: Bearer <token>.' });
    }
  });

  it('authorizeWith runs the Stream\'s hook (sync or async) and answers 401 when it says no; no hook, no check', async () => {
    app = await startApp((koa) => {
      koa.use(async (ctx, next) => {
        if (ctx.path === '/open') return authorizeWith(undefined)(ctx, next);
        if (ctx.path === '/async') return authorizeWith(async (c) => c.get('x-ok') === 'yes')(ctx, next);
        return authorizeWith((c) => c.get('x-ok') === 'yes')(ctx, next);
      });
      koa.use((ctx) => void (ctx.body = 'in'));
    });
    expect((await get('/open')).status).to.equal(200);
    for (const path of ['/sync', '/async']) {
      expect((await get(path, { 'x-ok': 'yes' })).status, path).to.equal(200);
      const refused = await get(path, { 'x-ok': 'no' });
      expect(refused.status, path).to.equal(401);
      expect(await refused.json()).to.deep.equal({ error: 'UNAUTHORIZED', message: 'This deployment requires authorisation for this route.' });
    }
  });

  it('requestSecret reads the header first, then the secret query parameter', async () => {
    app = await startApp((koa) => {
      koa.use((ctx) => void (ctx.body = JSON.stringify(requestSecret(ctx))));
    });
    expect(await (await get('/?secret=from-query', { 'x-callstream-secret': 'from-header' })).text()).to.equal('"from-header"');
    expect(await (await get('/?secret=from-query')).text()).to.equal('"from-query"');
    expect(await (await get('/?secret=a&secret=b')).text(), 'a repeated parameter is no secret').to.equal('""');
    expect(await (await get('/')).text()).to.equal('""');
  });

  it('requestedSessionId wants a non-empty string (400 otherwise)', async () => {
    expect(requestedSessionId('abc')).to.equal('abc');
    for (const id of [undefined, '', 42, ['abc']]) {
      let error: unknown;
      try {
        requestedSessionId(id);
      } catch (caught) {
        error = caught;
      }
      expect(error, String(id)).to.deep.include({ code: 'BAD_REQUEST', status: 400, message: 'The session id (webrtc_id) is missing.' });
    }
  });

  it('checkSecret accepts only the session\'s own secret (403 BAD_SIGNATURE otherwise)', async () => {
    const session = { secret: 'abcdef123456' } as Session;
    expect(() => checkSecret(session, 'abcdef123456')).to.not.throw();
    for (const given of [undefined, '', 'abcdef12345', 'abcdef1234567', 'Abcdef123456', 42, ['abcdef123456']]) {
      let error: unknown;
      try {
        checkSecret(session, given);
      } catch (caught) {
        error = caught;
      }
      expect(error, String(given)).to.deep.include({ code: 'BAD_SIGNATURE', status: 403 });
      expect((error as Error).message).to.match(/^No live session has this id and secret/);
    }
  });

  it('answers a refused secret as 403 JSON through the error middleware', async () => {
    app = await startApp((koa, logger) => {
      koa.use(httpErrors(logger));
      koa.use((ctx) => {
        checkSecret({ secret: 'right' } as Session, requestSecret(ctx));
        ctx.body = 'in';
      });
    });
    expect((await get('/?secret=right')).status).to.equal(200);
    const refused = await get('/?secret=wrong');
    expect(refused.status).to.equal(403);
    expect(((await refused.json()) as { error: string }).error).to.equal('BAD_SIGNATURE');
  });
});
