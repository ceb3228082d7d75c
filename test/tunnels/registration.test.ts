import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CallstreamError } from '../../src/errors.js';
import type { TwilioClient } from '../../src/twilio/client.js';
import { findPhoneNumber } from '../../src/twilio/numbers.js';
import { type FastphoneState, readState, writeState } from '../../tunnels/fastphone-state.js';
import { pointNumber, restoreNumber } from '../../tunnels/registration.js';
import { FakeTwilioApi, type NumberRecord } from '../support/fake-twilio.js';
import { rejection } from '../support/rejection.js';

const SETTINGS = { voiceUrl: 'http://abcd.lt.test:9/telephone/incoming', voiceMethod: 'POST' };

describe('tunnels: pointing a number and putting it back', () => {
  let api: FakeTwilioApi;
  let client: TwilioClient;
  let dir: string;
  let stateFile: string;
  let record: NumberRecord;

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    client = api.client();
    dir = await mkdtemp(path.join(os.tmpdir(), 'callstream-registration-'));
    stateFile = path.join(dir, '.callstream', 'fastphone-state.json');
    record = api.addNumber('+15550001111', { voice_url: 'https://old.example.com/voice', voice_method: 'GET', status_callback: 'https://old.example.com/status' });
  });

  afterEach(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('saves every previous voice setting in the state file before changing the number', async () => {
    let stateAtUpdate: FastphoneState | undefined;
    api.onRequest = (request) => {
      if (request.method === 'POST') stateAtUpdate = JSON.parse(readFileSync(stateFile, 'utf8')) as FastphoneState;
    };
    const number = await findPhoneNumber(client);
    const state = await pointNumber(client, api.accountSid, number, SETTINGS, stateFile);
    expect(stateAtUpdate, 'the state file existed when the update arrived').to.deep.equal(state);
    expect(state).to.deep.include({ version: 1, accountSid: api.accountSid, numberSid: record.sid, phoneNumber: '+15550001111', applied: SETTINGS, pid: process.pid });
    expect(state.previous).to.deep.equal({
      voiceUrl: 'https://old.example.com/voice',
      voiceMethod: 'GET',
      voiceFallbackUrl: '',
      voiceFallbackMethod: 'POST',
      statusCallback: 'https://old.example.com/status',
      statusCallbackMethod: 'POST',
    });
    expect(await readState(stateFile)).to.deep.equal(state);
    expect(record.voice_url).to.equal(SETTINGS.voiceUrl);
  });

  it('restores exactly what it changed, with the old values', async () => {
    const state = await pointNumber(client, api.accountSid, await findPhoneNumber(client), SETTINGS, stateFile);
    expect(await restoreNumber(client, state)).to.equal('restored');
    const posts = api.requestsTo('POST', record.sid);
    expect(posts.at(-1)!.form).to.deep.equal({ VoiceUrl: 'https://old.example.com/voice', VoiceMethod: 'GET' });
    expect(record.voice_url).to.equal('https://old.example.com/voice');
    expect(record.status_callback).to.equal('https://old.example.com/status');
  });

  it('clears a voice URL that was empty before', async () => {
    record.voice_url = '';
    const state = await pointNumber(client, api.accountSid, await findPhoneNumber(client), SETTINGS, stateFile);
    await restoreNumber(client, state);
    expect(api.requestsTo('POST', record.sid).at(-1)!.form).to.deep.equal({ VoiceUrl: '', VoiceMethod: 'GET' });
  });

  it('leaves alone a number someone changed since, and a number that left the account', async () => {
    const state = await pointNumber(client, api.accountSid, await findPhoneNumber(client), SETTINGS, stateFile);
    record.voice_url = 'https://someone-else.example.com/voice';
    expect(await restoreNumber(client, state)).to.equal('unchanged');
    expect(api.requestsTo('POST', record.sid)).to.have.length(1);
    api.numbers.delete(record.sid);
    expect(await restoreNumber(client, state)).to.equal('gone');
  });

  it('puts the number back and keeps no state when the update itself fails', async () => {
    api.failNext('POST', /IncomingPhoneNumbers\/PN/, { status: 500, code: 20500, message: 'Internal Server Error' });
    const error = await rejection(pointNumber(client, api.accountSid, await findPhoneNumber(client), SETTINGS, stateFile));
    expect(error.code).to.equal('TWILIO_ERROR');
    expect(existsSync(stateFile)).to.equal(false);
    expect(record.voice_url).to.equal('https://old.example.com/voice');
  });

  it('refuses while a state file exists: a live run, or a crashed one awaiting --restore', async () => {
    const number = await findPhoneNumber(client);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const base: FastphoneState = {
      version: 1,
      accountSid: api.accountSid,
      numberSid: record.sid,
      phoneNumber: '+15550001111',
      previous: number.voice,
      applied: SETTINGS,
      pid: dead,
      startedAt: new Date().toISOString(),
    };
    await writeState(stateFile, base);
    let error = await rejection(pointNumber(client, api.accountSid, number, SETTINGS, stateFile));
    expect(error.message).to.equal(`A previous fastphone run did not restore +15550001111 (state file ${stateFile}).`);
    expect(error.hint).to.contain('callstream fastphone --restore');
    await writeState(stateFile, { ...base, pid: process.ppid });
    error = await rejection(pointNumber(client, api.accountSid, number, SETTINGS, stateFile));
    expect(error.message).to.match(/^Another fastphone \(pid \d+\) is serving \+15550001111/);
    expect(api.requestsTo('POST', record.sid)).to.have.length(0);
  });

  it('says clearly when the state file is damaged', async () => {
    await writeState(stateFile, { version: 1 } as FastphoneState);
    const error = await rejection(readState(stateFile));
    expect(error.message).to.contain('is damaged ("accountSid" is missing)');
    expect(await readFile(stateFile, 'utf8')).to.contain('"version": 1');
  });
});

