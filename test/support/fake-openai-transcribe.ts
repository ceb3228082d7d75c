import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * OpenAI's transcription endpoint at the outside edge, as documented: `POST /v1/audio/transcriptions`
 * with a bearer key and a multipart body (`file`, `model`, `language`, `prompt`), answered
 * `{"text": ...}`; API-style error bodies (401 for a wrong key, 400 for a missing model or a file
 * that is not audio). It checks every WAV it gets (RIFF sizes, PCM 16-bit mono) and keeps its
 * samples; the text of each answer comes from the test's `transcript` function.
 */

export interface TranscriptionRequest {
  model: string;
  language?: string;
  prompt?: string;
  fileName: string;
  contentType: string;
  sampleRate: number;
  samples: Int16Array;
  /** Length of the audio (ms). */
  durationMs: number;
}

export interface FakeTranscribeOptions {
  /** Only this bearer key is let in. Default `sk-test-transcribe`. */
  apiKey?: string;
  /** The text of each answer (may wait: a slow service). Default: an empty transcript. */
  transcript?: (request: TranscriptionRequest) => string | Promise<string>;
}

const MAX_BODY_BYTES = 25 * 1024 * 1024; // the API's file limit

export class FakeTranscribeServer {
  readonly requests: TranscriptionRequest[] = [];
  /** Requests refused, with their status and error message. */
  readonly refused: { status: number; message: string }[] = [];
  /** Requests answered (their transcripts, in order). */
  readonly answers: string[] = [];
  private readonly sockets = new Set<Socket>();
  transcript: (request: TranscriptionRequest) => string | Promise<string>;

  private constructor(
    private readonly server: http.Server,
    private readonly apiKey: string,
    options: FakeTranscribeOptions,
  ) {
    this.transcript = options.transcript ?? (() => '');
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, 500, `fake server error: ${String(error)}`));
    });
  }

  static async start(options: FakeTranscribeOptions = {}): Promise<FakeTranscribeServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FakeTranscribeServer(server, options.apiKey ?? 'sk-test-transcribe', options);
  }

  /** The client's `baseURL`. */
  get baseURL(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  get apiKeyExpected(): string {
    return this.apiKey;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/audio/transcriptions') return this.fail(res, 404, `Unknown request URL: ${req.method} ${req.url}.`);
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return this.fail(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('multipart/form-data')) return this.fail(res, 400, 'Expected a multipart/form-data body.');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return this.fail(res, 413, 'Maximum content size limit exceeded.');
      chunks.push(chunk);
    }
    const form = await new Request('http://fake/v1/audio/transcriptions', { method: 'POST', headers: { 'content-type': contentType }, body: Buffer.concat(chunks) }).formData();
    const model = form.get('model');
    const file = form.get('file');
    if (typeof model !== 'string' || model === '') return this.fail(res, 400, "you must provide a model parameter");
    if (!(file instanceof Blob)) return this.fail(res, 400, "you must provide a file parameter");
    const wav = parseWav(Buffer.from(await file.arrayBuffer()));
    if (typeof wav === 'string') return this.fail(res, 400, `Invalid file format: ${wav}`);
    const optional = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value : undefined;
    };
    const request: TranscriptionRequest = {
      model,
      language: optional('language'),
      prompt: optional('prompt'),
      fileName: (file as File).name,
      contentType: file.type,
      sampleRate: wav.sampleRate,
      samples: wav.samples,
      durationMs: (wav.samples.length * 1000) / wav.sampleRate,
    };
    this.requests.push(request);
    const text = await this.transcript(request);
    this.answers.push(text);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text, usage: { type: 'duration', seconds: Math.ceil(request.durationMs / 1000) } }));
  }

  private fail(res: http.ServerResponse, status: number, message: string, code: string | null = null): void {
    this.refused.push({ status, message });
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } }));
  }
}

/** A strict reading of a 16-bit PCM mono WAV: its samples, or what is wrong with it. */
function parseWav(data: Buffer): { sampleRate: number; samples: Int16Array } | string {
  if (data.length < 44 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') return 'not a RIFF/WAVE file';
  if (data.readUInt32LE(4) !== data.length - 8) return `RIFF size ${data.readUInt32LE(4)} for a file of ${data.length} bytes`;
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      const format = data.readUInt16LE(offset + 8);
      const channels = data.readUInt16LE(offset + 10);
      sampleRate = data.readUInt32LE(offset + 12);
      const bits = data.readUInt16LE(offset + 22);
      if (format !== 1 || channels !== 1 || bits !== 16) return `format ${format}, ${channels} channels, ${bits} bits (expected PCM, mono, 16)`;
      if (data.readUInt32LE(offset + 16) !== sampleRate * 2) return 'byte rate does not match the sample rate';
    } else if (id === 'data') {
      if (sampleRate === 0) return 'data before fmt';
      if (size !== data.length - offset - 8) return `data size ${size} for ${data.length - offset - 8} bytes of data`;
      if (size % 2 !== 0) return 'odd data size';
      const bytes = data.subarray(offset + 8);
      return { sampleRate, samples: new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
    }
    offset += 8 + size + (size % 2);
  }
  return 'no data chunk';
}
