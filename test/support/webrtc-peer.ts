import {
  MediaStreamTrack,
  type RTCDataChannel,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  type RTCRtpCodecParameters,
  useOPUS,
  usePCMU,
} from 'werift';
import { OpusCodec } from '../../src/audio/opus.js';

export interface ReceivedPacket {
  sequenceNumber: number;
  timestamp: number;
  payload: Buffer;
  at: number;
}

export interface TestPeerOptions {
  codec?: 'opus' | 'pcmu';
  direction?: 'sendrecv' | 'sendonly' | 'recvonly';
  /** Trickle candidates to the server instead of relying on the ones in the offer. */
  trickle?: boolean;
  dataChannel?: boolean;
  /** ICE servers (STUN/TURN), as in RTCConfiguration. Default none. */
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
  /** `relay` gathers only TURN candidates, so media must go through the relay. */
  iceTransportPolicy?: 'all' | 'relay';
}

/**
 * A werift peer playing the browser: offers audio (+ the "text" data channel), posts to the offer
 * route, sends RTP it is given and records what comes back.
 */
export class TestPeer {
  readonly pc: RTCPeerConnection;
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  readonly received: ReceivedPacket[] = [];
  readonly messages: Record<string, unknown>[] = [];
  channel: RTCDataChannel | undefined;
  readonly codecName: 'opus' | 'pcmu';
  readonly opus = new OpusCodec(48000);
  private sequenceNumber = 1000;
  private timestamp = 5000;

  constructor(
    readonly baseUrl: string,
    readonly id: string,
    private readonly options: TestPeerOptions = {},
  ) {
    this.codecName = options.codec ?? 'opus';
    const codecs: RTCRtpCodecParameters[] = this.codecName === 'opus' ? [useOPUS(), usePCMU()] : [usePCMU()];
    this.pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      iceServers: options.iceServers ?? [],
      iceTransportPolicy: options.iceTransportPolicy ?? 'all',
      codecs: { audio: codecs, video: [] },
      iceUseIpv6: false,
    });
    const transceiver = this.pc.addTransceiver(this.track, { direction: options.direction ?? 'sendrecv' });
    transceiver.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) =>
        this.received.push({ sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, payload: rtp.payload, at: performance.now() }),
      ),
    );
    if (options.dataChannel ?? true) {
      this.channel = this.pc.createDataChannel('text');
      this.channel.onMessage.subscribe((data) => this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    }
  }

  /** Posts a JSON body to the offer route. */
  async post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${this.baseUrl}/webrtc/offer`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  /** Offers, applies the answer, and waits for the connection. Returns the raw answer body. */
  async connect(): Promise<Record<string, unknown>> {
    const offer = await this.pc.createOffer();
    if (this.options.trickle) {
      this.pc.onIceCandidate.subscribe((candidate) => {
        if (candidate) void this.post({ type: 'ice-candidate', webrtc_id: this.id, candidate: candidate.toJSON() });
      });
    }
    await this.pc.setLocalDescription(offer);
    const { json } = await this.post({ sdp: this.pc.localDescription!.sdp, type: 'offer', webrtc_id: this.id });
    if (json.status === 'failed') return json;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: json.sdp as string });
    await this.pc.connectionStateChange.watch((state) => state === 'connected', 10000);
    return json;
  }

  /** Sends one 20 ms frame: PCM at 48 kHz for Opus, μ-law bytes for PCMU. */
  sendFrame(frame: Int16Array | Uint8Array, options: { sequenceNumber?: number; timestamp?: number } = {}): void {
    const payload = frame instanceof Int16Array ? Buffer.from(this.opus.encode(frame)) : Buffer.from(frame);
    const header = new RtpHeader({
      sequenceNumber: options.sequenceNumber ?? this.sequenceNumber,
      timestamp: options.timestamp ?? this.timestamp,
      payloadType: this.codecName === 'opus' ? 111 : 0,
    });
    if (options.sequenceNumber === undefined) {
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
      this.timestamp += this.codecName === 'opus' ? 960 : 160;
    }
    this.track.writeRtp(new RtpPacket(header, payload));
  }

  /** Next sequence number and timestamp, for tests that send packets out of order. */
  reserve(count: number): { sequenceNumber: number; timestamp: number }[] {
    const out = [];
    for (let i = 0; i < count; i++) {
      out.push({ sequenceNumber: this.sequenceNumber, timestamp: this.timestamp });
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
      this.timestamp += this.codecName === 'opus' ? 960 : 160;
    }
    return out;
  }

  /** Types (host, srflx, relay) of the ICE candidate pair werift nominated, once connected. */
  selectedPair(): { local: string; remote: string } | undefined {
    const pair = this.pc.iceTransports[0]?.connection.nominated;
    const local = pair?.protocol.localCandidate;
    if (!pair || !local) return undefined;
    return { local: local.type, remote: pair.remoteCandidate.type };
  }

  /**
   * `all`: plays a killed tab: from now on nothing leaves the peer (no media, RTCP, STUN consent
   * checks or data-channel traffic), and nothing says it closed; its socket stays open, so what the
   * server sends still arrives. `stun`: only its STUN (consent checks and answers) stops; media flows.
   */
  silence(what: 'all' | 'stun' = 'all'): void {
    type Sending = { send: (...args: unknown[]) => Promise<void> };
    const protocol = this.pc.iceTransports[0]?.connection.nominated?.protocol as unknown as { transport?: Sending; sendStun: Sending['send'] } | undefined;
    if (!protocol?.transport) throw new Error('silence(): the peer is not connected');
    if (what === 'stun') protocol.sendStun = async () => {};
    else protocol.transport.send = async () => {};
  }

  sendMessage(message: unknown): void {
    this.channel?.send(JSON.stringify(message));
  }

  async waitForChannel(): Promise<void> {
    if (!this.channel || this.channel.readyState === 'open') return;
    await this.channel.stateChanged.watch((state) => state === 'open', 5000);
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}
