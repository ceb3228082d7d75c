import {
  MediaStreamTrack,
  type Protocol,
  RTCPeerConnection,
  type RTCDataChannel,
  type RTCIceCandidateInit,
  type RtpPacket,
  useNACK,
  useOPUS,
  usePCMU,
  usePLI,
  useVP8,
} from 'werift';
import type { TimerHandle } from '../../clock.js';
import { CallstreamError, describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Place } from '../../coordination/coordination.js';
import type { Session } from '../../session/session.js';
import type { TransportRuntime } from '../runtime.js';
import { codecForMimeType, type RtpAudioCodec } from './audio-codecs.js';
import { type OrderedPacket, ReorderBuffer } from './reorder-buffer.js';
import { VideoPipe } from './video-pipe.js';
import { WebRtcLink } from './webrtc-link.js';
import { isDtmfDigit } from '../wire.js';

/** FastRTC's answer, plus the session's id and secret (needed for its inputs and outputs). */
export interface WebRtcAnswer {
  sdp: string;
  type: 'answer';
  session: { id: string; secret: string };
}

const DIRECTION = { 'send-receive': 'sendrecv', receive: 'sendonly', send: 'recvonly' } as const;

export interface PeerInit {
  id: string;
  /** Its place under the limit: the session holds it once opened, the peer until then. */
  place: Place;
  remoteAddress?: string;
  onClosed: () => void;
}

/**
 * One browser peer: answers its offer with werift, turns inbound RTP into session frames (reordered,
 * losses concealed) and data-channel messages into session events, and ends the session when the
 * connection fails or closes. The session starts when ICE+DTLS are connected.
 */
export class WebRtcPeer {
  readonly id: string;
  session: Session | undefined;
  /** Remote candidates given to this peer (with its offer and trickled). */
  remoteCandidates = 0;
  private readonly pc: RTCPeerConnection;
  private readonly outbound = new MediaStreamTrack({ kind: 'audio' });
  private readonly outboundVideo = new MediaStreamTrack({ kind: 'video' });
  private readonly hasAudio: boolean;
  private video: VideoPipe | undefined;
  private readonly log: Logger;
  private codec: RtpAudioCodec | undefined;
  private link: WebRtcLink | undefined;
  private reorder: ReorderBuffer | undefined;
  private disconnectTimer: TimerHandle | undefined;
  private closed = false;
  /** The ICE sockets whose STUN requests (the browser's consent checks) count as the client's activity. */
  private readonly stunHeard = new Set<Protocol>();

  constructor(
    private readonly runtime: TransportRuntime,
    private readonly init: PeerInit,
  ) {
    this.id = init.id;
    this.log = runtime.logger.child({ transport: 'webrtc', sessionId: init.id });
    const { webrtc } = runtime.options;
    const server = runtime.options.serverRtcConfiguration;
    const { modality, mode } = runtime.options;
    this.hasAudio = modality !== 'video';
    const audioCodecs = !this.hasAudio ? [] : webrtc.codec === 'pcmu' ? [usePCMU()] : [useOPUS(), usePCMU()];
    const videoCodecs = modality === 'audio' ? [] : [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })];
    this.pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      iceServers: (server?.iceServers ?? []).flatMap((s) =>
        (Array.isArray(s.urls) ? s.urls : [s.urls]).map((urls) => ({ urls, username: s.username, credential: s.credential })),
      ),
      iceTransportPolicy: server?.iceTransportPolicy ?? 'all',
      codecs: { audio: audioCodecs, video: videoCodecs },
      iceUseIpv6: webrtc.iceUseIpv6,
      iceAdditionalHostAddresses: webrtc.iceAdditionalHostAddresses,
      icePortRange: webrtc.icePortRange,
    });
    if (this.hasAudio) {
      const transceiver = this.pc.addTransceiver(this.outbound, { direction: DIRECTION[mode] });
      transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => this.onRtp(rtp)));
    }
    if (runtime.videoCodec) {
      const video = new VideoPipe(runtime.videoCodec, this.outboundVideo, runtime.clock, this.log, (frame) => this.session?.receiveVideo(frame));
      this.video = video;
      const transceiver = this.pc.addTransceiver(this.outboundVideo, { direction: DIRECTION[mode] });
      transceiver.onTrack.subscribe((track) => video.receiveFrom(track, transceiver.receiver));
      video.listenForKeyframeAsks(transceiver.sender);
    }
    this.pc.onDataChannel.subscribe((channel) => this.onDataChannel(channel));
    this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
  }

  /** Applies the browser's offer and returns werift's answer (its ICE candidates included). */
  async answer(sdp: string, candidates: RTCIceCandidateInit[]): Promise<WebRtcAnswer> {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
    } catch (error) {
      // What the client sent is at fault: a debug line with werift's words, never its stack.
      this.log.debug({ reason: describeError(error) }, 'offer refused by the WebRTC stack');
      throw new CallstreamError('BAD_REQUEST', "The offer's SDP could not be applied: check it is a complete offer from a WebRTC stack.", { cause: error });
    }
    for (const candidate of candidates) await this.addCandidate(candidate);
    try {
      await this.pc.setLocalDescription(await this.pc.createAnswer());
    } catch (error) {
      // werift accepts some offers it then cannot answer (e.g. a media section without a=mid).
      this.log.debug({ reason: describeError(error) }, 'offer not answerable by the WebRTC stack');
      throw new CallstreamError('BAD_REQUEST', "The offer's SDP cannot be answered: check it is a complete offer from a WebRTC stack (each media section with a=mid).", { cause: error });
    }
    // ICE can fail while the offer is being answered (an offer with no usable candidate): the peer is
    // closed and its place freed already, so no session may be opened for it.
    if (this.closed) throw new CallstreamError('BAD_REQUEST', 'The connection failed while the offer was answered: the offer has no usable ICE candidate.');
    // Every packet from the browser (RTP, RTCP, DTLS, data channel) is a sign of life: no silence is idleness.
    this.pc.iceTransports[0]?.connection.onData.subscribe(() => this.session?.heard());
    let codec: RtpAudioCodec | undefined;
    if (this.hasAudio) {
      const negotiated = this.pc.getTransceivers().find((t) => t.kind === 'audio')?.codecs[0];
      codec = negotiated ? codecForMimeType(negotiated.mimeType) : undefined;
      if (!codec) throw new CallstreamError('BAD_REQUEST', 'The offer has no audio codec callstream speaks (Opus or PCMU).');
      this.reorder = new ReorderBuffer(
        { maxHold: this.runtime.options.webrtc.reorderWindow, samplesPerPacket: codec.samplesPerPacket, maxFill: 50 },
        (packet) => this.onOrderedPacket(packet),
      );
    }
    this.codec = codec;
    const video = this.video;
    this.link = new WebRtcLink(
      this.pc,
      this.outbound,
      codec,
      this.runtime.clock,
      this.log,
      video && ((frame) => video.send(frame)),
      video && (() => ({
        keyframeAsks: video.keyframeAsks,
        browserKeyframeAsks: video.browserKeyframeAsks,
        videoDroppedOutbound: video.droppedOutbound,
        videoDecodeP50Ms: video.timings.decode.percentile(50),
        videoEncodeP50Ms: video.timings.encode.percentile(50),
        videoTotalP50Ms: video.timings.total.percentile(50),
        videoTotalP95Ms: video.timings.total.percentile(95),
      })),
    );
    this.session = this.runtime.openSession({
      id: this.id,
      link: this.link,
      facts: { customParameters: {}, remoteAddress: this.init.remoteAddress },
      place: this.init.place,
      leadMs: 20,
    });
    this.session.onEnd(() => this.close('session ended'));
    const local = this.pc.localDescription;
    if (!local) throw new Error('werift produced no local description');
    this.log.debug({ codec: codec?.name, video: Boolean(video) }, 'answered offer');
    return { sdp: local.sdp, type: 'answer', session: { id: this.session.id, secret: this.session.secret } };
  }

  /** A trickled candidate from the browser. Invalid ones throw a BAD_REQUEST error. */
  async addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    this.remoteCandidates++;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      throw new CallstreamError('BAD_REQUEST', `invalid_candidate_format: ${(error as Error).message}`, { cause: error });
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the session (if any) and frees the peer, its sockets and timers. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.disconnectTimer?.cancel();
    this.reorder?.flush();
    this.video?.close();
    if (this.session) this.session.end('remote_closed', reason);
    else this.init.place.release();
    this.pc.close().catch(() => {});
    this.init.onClosed();
  }

  private onConnectionState(state: string): void {
    this.log.debug({ state }, 'connection state');
    if (state === 'connected') {
      this.disconnectTimer?.cancel();
      this.disconnectTimer = undefined;
      this.listenForConsentChecks();
      if (this.session && !this.session.isLive && !this.session.isClosed) this.session.start();
    } else if (state === 'disconnected') {
      this.disconnectTimer ??= this.runtime.clock.after(this.runtime.options.webrtc.disconnectGraceMs, () => this.close('The connection was lost.'));
    } else if (state === 'failed' || state === 'closed') {
      this.close(`The peer connection ${state}.`);
    }
  }

  /**
   * The browser's STUN consent checks (every few seconds, RFC 7675) on the selected pair are its
   * activity too: a peer that sends no media and receives none still sends them. A killed tab sends
   * nothing, and its session ends at the idle deadline (werift's ICE would notice only after ~30 s).
   */
  private listenForConsentChecks(): void {
    const protocol = this.pc.iceTransports[0]?.connection.nominated?.protocol;
    if (!protocol || this.stunHeard.has(protocol)) return;
    this.stunHeard.add(protocol);
    protocol.onRequestReceived.subscribe(() => this.session?.heard());
  }

  private onRtp(rtp: RtpPacket): void {
    if (!this.reorder || this.closed) return;
    this.reorder.push(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.payload);
  }

  private onOrderedPacket(packet: OrderedPacket): void {
    const session = this.session;
    const codec = this.codec;
    if (!session || !codec || !session.isLive) return;
    try {
      const frame = packet.kind === 'packet' ? codec.decode(packet.payload) : packet.kind === 'lost' ? codec.conceal() : codec.silence();
      session.receiveAudio(frame);
    } catch (error) {
      this.log.debug({ err: error }, 'undecodable RTP payload: concealed');
      session.receiveAudio(codec.conceal());
    }
  }

  private onDataChannel(channel: RTCDataChannel): void {
    const attach = () => this.link?.attachChannel(channel);
    if (channel.readyState === 'open') attach();
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') attach();
      // The page closed its channel: the tab is going away (ICE would notice only after ~30 s).
      if (state === 'closed') this.close('The browser closed the data channel.');
    });
    channel.onMessage.subscribe((data) => this.onChannelMessage(typeof data === 'string' ? data : data.toString('utf8')));
  }

  private onChannelMessage(text: string): void {
    const session = this.session;
    if (!session) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    const typed = message as { type?: unknown; data?: unknown } | undefined;
    if (typed?.type === 'dtmf' && isDtmfDigit(typed.data)) {
      session.receiveDtmf(typed.data);
      return;
    }
    if (typed?.type === 'inline_outputs') {
      session.inlineOutputs = typed.data !== false;
      return;
    }
    // FastRTC answers any other client text with a log echo.
    session.sendMessage({ type: 'log', data: `Server received: ${text.slice(0, 200)}` });
  }
}
