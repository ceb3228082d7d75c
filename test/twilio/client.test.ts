import { expect } from 'chai';
import { CallstreamError } from '../../src/errors.js';
import { TwilioApiError } from '../../src/twilio/api-error.js';
import { rebaseUrl } from '../../src/twilio/base-url.js';
import { checkTwilioCredentials, createTwilioClient, twilioCredentialsFromEnv } from '../../src/twilio/client.js';
import { listPhoneNumbers } from '../../src/twilio/numbers.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { rejection } from '../support/rejection.js';

describe('twilio: the REST client factory (the official helper, pointed at a fake API)', () => {
  let api: FakeTwilioApi;

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    api.addNumber('+15550001111');
  });

  afterEach(() => api.close());

  it('sends the helper\'s requests to TWILIO_API_BASE_URL with the auth token', async () => {
    const client = createTwilioClient({ accountSid: api.accountSid, authToken: api.authToken, apiBaseUrl: api.url });
    const numbers = await listPhoneNumbers(client);
    expect(numbers.map((n) => n.phoneNumber)).to.deep.equal(['+15550001111']);
    const [request] = api.requests;
    expect(request!.method).to.equal('GET');
    expect(request!.path).to.equal(`/2010-04-01/Accounts/${api.accountSid}/IncomingPhoneNumbers.json`);
    expect(request!.user).to.equal(api.accountSid);
  });

  it('uses an API key + secret for REST when given', async () => {
    const client = createTwilioClient({ accountSid: api.accountSid, apiKey: api.apiKey, apiSecret: api.apiSecret, apiBaseUrl: api.url });
    await listPhoneNumbers(client);
    expect(api.requests[0]!.user).to.equal(api.apiKey);
    expect(api.requests[0]!.path).to.contain(api.accountSid);
  });

  it('applies TWILIO_REGION and TWILIO_EDGE as the helper does, then keeps only the path for the base URL', async () => {
    const client = createTwilioClient({ accountSid: api.accountSid, authToken: api.authToken, region: 'au1', edge: 'sydney', apiBaseUrl: `${api.url}/` });
    expect(client.region).to.equal('au1');
    expect(client.edge).to.equal('sydney');
    const seen: string[] = [];
    const http = client.httpClient as unknown as { request: (opts: { uri: string }) => Promise<unknown> };
    const original = http.request.bind(http);
    http.request = (opts) => {
      seen.push(opts.uri);
      return original(opts);
    };
    await listPhoneNumbers(client);
    expect(seen[0]).to.match(/^https:\/\/api\.sydney\.au1\.twilio\.com\/2010-04-01\//);
    expect(api.requests).to.have.length(1);
    expect(rebaseUrl('https://api.sydney.au1.twilio.com/2010-04-01/Accounts/AC1/X.json?Page=1', 'http://127.0.0.1:9/prefix/')).to.equal(
      'http://127.0.0.1:9/prefix/2010-04-01/Accounts/AC1/X.json?Page=1',
    );
  });

  it('reads credentials from the environment, empty values as unset', () => {
    expect(
      twilioCredentialsFromEnv({ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: '', TWILIO_API_KEY: 'SK1', TWILIO_API_SECRET: 's', TWILIO_REGION: 'ie1', TWILIO_API_BASE_URL: 'http://x' }),
    ).to.deep.equal({ accountSid: 'AC1', apiKey: 'SK1', apiSecret: 's', region: 'ie1', apiBaseUrl: 'http://x' });
  });

  it('refuses incomplete credentials with a hint, before any request', () => {
    const cases: [Record<string, string>, RegExp, RegExp][] = [
      [{}, /No Twilio account SID/, /TWILIO_ACCOUNT_SID/],
      [{ accountSid: 'SKabc', authToken: 't' }, /not a Twilio account SID/, /TWILIO_API_KEY/],
      [{ accountSid: 'AC1' }, /No Twilio credentials/, /TWILIO_AUTH_TOKEN/],
      [{ accountSid: 'AC1', apiKey: 'SK1' }, /both TWILIO_API_KEY/, /set both/],
      [{ accountSid: 'AC1', apiKey: 'AC2', apiSecret: 's' }, /not a Twilio API key/, /API key/],
    ];
    for (const [credentials, message, hint] of cases) {
      try {
        checkTwilioCredentials(credentials);
        expect.fail(`accepted ${JSON.stringify(credentials)}`);
      } catch (error) {
        expect(error).to.be.instanceOf(CallstreamError);
        expect((error as CallstreamError).code).to.equal('CONFIG_ERROR');
        expect((error as Error).message).to.match(message);
        expect((error as CallstreamError).hint).to.match(hint);
      }
    }
    expect(() => createTwilioClient({ accountSid: 'AC1', authToken: 't', apiBaseUrl: 'not a url' })).to.throw(CallstreamError, /not an absolute URL/);
  });

  it('shows a 401 clearly: Twilio\'s message and code, and which variables to check', async () => {
    const client = createTwilioClient({ accountSid: api.accountSid, authToken: 'wrong-token', apiBaseUrl: api.url });
    const error = await rejection(listPhoneNumbers(client), TwilioApiError);
    expect(error.code).to.equal('TWILIO_ERROR');
    expect(error.status).to.equal(401);
    expect(error.twilioCode).to.equal(20003);
    expect(error.message).to.equal('Twilio refused to list the account\'s phone numbers: Authenticate (HTTP 401, error 20003).');
    expect(error.hint).to.contain('TWILIO_AUTH_TOKEN');
    expect(error.moreInfo).to.equal('https://www.twilio.com/docs/errors/20003');
  });

  it('shows a 404 clearly', async () => {
    const client = createTwilioClient({ accountSid: api.accountSid, authToken: api.authToken, apiBaseUrl: api.url });
    api.failNext('GET', /IncomingPhoneNumbers\.json$/, { status: 404, code: 20404, message: 'The requested resource was not found' });
    const error = await rejection(listPhoneNumbers(client), TwilioApiError);
    expect(error.status).to.equal(404);
    expect(error.twilioCode).to.equal(20404);
    expect(error.message).to.contain('The requested resource was not found (HTTP 404, error 20404)');
    expect(error.hint).to.contain('not in this account');
  });

  it('says when the API cannot be reached at all', async () => {
    const url = api.url;
    await api.close();
    const client = createTwilioClient({ accountSid: api.accountSid, authToken: api.authToken, apiBaseUrl: url });
    const error = await rejection(listPhoneNumbers(client), TwilioApiError);
    expect(error.status).to.equal(undefined);
    expect(error.message).to.match(/^Could not reach the Twilio API to list the account's phone numbers: .*ECONNREFUSED/);
    expect(error.hint).to.contain('TWILIO_API_BASE_URL');
    api = await FakeTwilioApi.start();
  });
});
