// callstream's built-in page: one WebRTC session with the Stream's handler, FastRTC's wire format.
// Zero-build: plain ES module, no dependencies. State is exposed on window.callstream for tests.

const config = JSON.parse(document.getElementById('callstream-config').textContent);
const $ = (id) => document.getElementById(id);
const ui = {
  state: $('state'), timer: $('timer'), call: $('call'), label: $('call-label'), error: $('error'),
  levelIn: $('level-in'), levelOut: $('level-out'), microphone: $('microphone'), devices: $('devices'),
  keypad: $('keypad'), messages: $('messages'), reply: $('reply'), inputs: $('inputs'), outputs: $('outputs'),
  videos: $('videos'), local: $('local'), remote: $('remote'), camera: $('camera'), cameraLabel: $('camera-label'),
  microphoneLabel: $('microphone-label'), meters: $('meters'),
};
const hasAudio = config.modality !== 'video';
const hasVideo = config.modality !== 'audio';
const STATE_TEXT = { idle: 'Idle', connecting: 'Connecting…', live: 'Live', ended: 'Ended', error: 'Error' };
const ERRORS = {
  concurrency_limit_reached: (meta) => `The service is busy (${meta.limit} session${meta.limit === 1 ? '' : 's'} at once). Try again shortly.`,
  connection_already_exists: () => 'This session already exists. Reload the page.',
  shutting_down: () => 'The server is restarting. Try again in a moment.',
};

const session = { state: 'idle', pc: null, channel: null, media: null, audioContext: null, startedAt: 0, tick: 0, id: '', secret: '', events: null, lastOutput: undefined };
window.callstream = session;

function setState(state, message) {
  session.state = state;
  ui.state.dataset.state = state;
  ui.state.textContent = STATE_TEXT[state];
  const active = state === 'connecting' || state === 'live';
  ui.call.dataset.active = String(active);
  ui.label.textContent = active ? config.stopLabel : config.startLabel;
  ui.call.setAttribute('aria-pressed', String(active));
  ui.keypad.hidden = !(config.keypad && hasAudio && state === 'live');
  ui.microphone.disabled = active;
  ui.error.hidden = !message;
  ui.error.textContent = message || '';
  document.body.dataset.state = state;
}

function addMessage(text) {
  const item = document.createElement('li');
  item.textContent = text;
  ui.messages.append(item);
  while (ui.messages.children.length > 50) ui.messages.firstElementChild.remove();
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind, name] of [[ui.microphone, 'audioinput', 'microphone'], [ui.camera, 'videoinput', 'camera']]) {
    const current = select.value;
    select.replaceChildren(new Option(`Default ${name}`, ''));
    for (const device of devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== 'default')) {
      select.append(new Option(device.label || `${name} ${select.length}`, device.deviceId));
    }
    select.value = current;
  }
}

async function post(body) {
  const response = await fetch(`${config.base}/webrtc/offer`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.message || `The server answered ${response.status}.`);
  return json;
}

function setLevel(meter, value) {
  const percent = Math.round(Math.min(1, value) * 100);
  meter.firstElementChild.style.width = `${percent}%`;
  meter.setAttribute('aria-valuenow', String(percent));
}

function meterFor(stream, meter) {
  const context = session.audioContext;
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  return () => {
    analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    setLevel(meter, Math.sqrt(sum / data.length) * 4);
  };
}

function startTicking(meters) {
  const update = () => {
    if (session.state !== 'live' && session.state !== 'connecting') return;
    for (const meter of meters) meter();
    if (session.startedAt) {
      const seconds = Math.floor((performance.now() - session.startedAt) / 1000);
      ui.timer.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
    }
    session.tick = requestAnimationFrame(update);
  };
  session.tick = requestAnimationFrame(update);
}

function onServerMessage(event) {
  let message;
  try { message = JSON.parse(event.data); } catch { return; }
  if (message.type === 'error') { addMessage(`Error: ${message.message}`); stop('error', message.message); }
  else if (message.type === 'warning') addMessage(`Warning: ${message.message}`);
  else if (message.type === 'end_stream') { addMessage(String(message.data || 'The session ended.')); stop('ended'); }
  else if (message.type === 'log') addMessage(String(message.data));
  else if (message.type === 'stopword') addMessage(message.data ? `Stop word heard: ${message.data}` : 'Stop word heard');
  else if (message.type === 'send_input') sendInputs().catch(() => {});
  else if (message.type === 'update_connection' && message.data === 'closed') stop('ended');
  window.dispatchEvent(new CustomEvent('callstream:message', { detail: message }));
}

// Additional inputs: rendered from the Stream's declaration, posted to the input hook with the session secret.
function renderInputs() {
  if (!config.inputs.length) return;
  ui.inputs.hidden = false;
  for (const spec of config.inputs) {
    const label = document.createElement('label');
    label.className = spec.type === 'checkbox' ? 'field check' : 'field';
    const caption = document.createElement('span');
    caption.textContent = spec.label || spec.name;
    let control;
    if (spec.type === 'select') {
      control = document.createElement('select');
      for (const choice of spec.choices) control.append(new Option(choice, choice));
    } else {
      control = document.createElement('input');
      control.type = { text: 'text', number: 'number', slider: 'range', checkbox: 'checkbox' }[spec.type];
      if (spec.minimum !== undefined) control.min = String(spec.minimum);
      if (spec.maximum !== undefined) control.max = String(spec.maximum);
      if (spec.step !== undefined) control.step = String(spec.step);
      if (spec.maxLength !== undefined) control.maxLength = spec.maxLength;
    }
    control.name = spec.name;
    control.id = `input-${spec.name}`;
    const initial = config.inputValues[spec.name];
    if (spec.type === 'checkbox') control.checked = Boolean(initial);
    else if (initial !== undefined && initial !== null) control.value = String(initial);
    control.addEventListener('change', () => sendInputs());
    if (spec.type === 'checkbox') label.append(control, caption);
    else label.append(caption, control);
    ui.inputs.append(label);
  }
  ui.inputs.addEventListener('submit', (event) => { event.preventDefault(); sendInputs(); });
}

function inputValues() {
  const values = {};
  for (const spec of config.inputs) {
    const control = ui.inputs.elements.namedItem(spec.name);
    if (spec.type === 'checkbox') values[spec.name] = control.checked;
    else if (spec.type === 'number' || spec.type === 'slider') { if (control.value !== '') values[spec.name] = Number(control.value); }
    else values[spec.name] = control.value;
  }
  return values;
}

async function sendInputs() {
  if (!config.inputs.length || !session.secret) return;
  const response = await fetch(`${config.base}/input_hook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Callstream-Secret': session.secret },
    body: JSON.stringify({ webrtc_id: session.id, ...inputValues() }),
  });
  if (response.status === 422) {
    const { reasons } = await response.json();
    addMessage(`Inputs refused: ${reasons.join(' ')}`);
  }
}

// Additional outputs: read as server-sent events, shown with the Stream's labels.
function showOutput(output) {
  session.lastOutput = output;
  ui.outputs.hidden = false;
  const specs = config.outputs;
  const state = output.state;
  const values = specs.length > 1 && Array.isArray(state) ? state : [specs.length === 1 && Array.isArray(state) && state.length === 1 && specs[0].type !== 'transcript' ? state[0] : state];
  ui.outputs.replaceChildren(...values.map((value, i) => {
    const spec = specs[i] || { label: specs.length ? `Output ${i + 1}` : 'Output', type: 'text' };
    const box = document.createElement('div');
    box.className = 'output';
    const caption = document.createElement('span');
    caption.textContent = spec.label;
    let shown;
    if (spec.type === 'transcript' && Array.isArray(value)) {
      shown = document.createElement('ul');
      shown.append(...value.map((line) => Object.assign(document.createElement('li'), { textContent: String(line) })));
    } else {
      shown = document.createElement('pre');
      shown.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    }
    shown.className = 'value';
    box.append(caption, shown);
    return box;
  }));
}

function followOutputs() {
  session.events?.close();
  const events = new EventSource(`${config.base}/outputs?webrtc_id=${encodeURIComponent(session.id)}&secret=${encodeURIComponent(session.secret)}`);
  events.addEventListener('output', (event) => showOutput(JSON.parse(event.data)));
  events.addEventListener('end', () => events.close());
  session.events = events;
}

async function start() {
  setState('connecting');
  ui.timer.textContent = '0:00';
  session.id = crypto.randomUUID().replace(/-/g, '');
  session.audioContext = new AudioContext();
  const meters = [];
  try {
    const rtcConfiguration = await fetch(`${config.base}/webrtc/configuration`).then((r) => r.json());
    const pc = new RTCPeerConnection(rtcConfiguration);
    session.pc = pc;
    const direction = config.mode === 'send' ? 'sendonly' : config.mode === 'receive' ? 'recvonly' : 'sendrecv';
    if (config.mode !== 'receive') {
      const microphone = ui.microphone.value;
      const camera = ui.camera.value;
      try {
        session.media = await navigator.mediaDevices.getUserMedia({
          audio: hasAudio && { ...config.trackConstraints, ...(microphone ? { deviceId: { exact: microphone } } : {}) },
          video: hasVideo && { ...config.videoConstraints, ...(camera ? { deviceId: { exact: camera } } : {}) },
        });
      } catch (error) {
        const what = hasVideo && hasAudio ? 'Camera or microphone' : hasVideo ? 'Camera' : 'Microphone';
        throw new Error(error.name === 'NotAllowedError' ? `${what} access was denied. Allow it in the browser and try again.` : `${what} unavailable: ${error.message}`);
      }
      listDevices().catch(() => {});
      for (const track of session.media.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction, streams: [session.media] });
        if (config.rtpParams) {
          const parameters = transceiver.sender.getParameters();
          await transceiver.sender.setParameters({ ...parameters, ...config.rtpParams }).catch(() => {});
        }
      }
      if (hasAudio) meters.push(meterFor(session.media, ui.levelIn));
      if (hasVideo) ui.local.srcObject = session.media;
    } else {
      if (hasAudio) pc.addTransceiver('audio', { direction });
      if (hasVideo) pc.addTransceiver('video', { direction });
    }
    pc.ontrack = (event) => {
      if (event.track.kind === 'video') {
        ui.remote.srcObject = new MediaStream([event.track]);
        ui.remote.play().catch(() => {});
        return;
      }
      const stream = new MediaStream([event.track]);
      ui.reply.srcObject = stream;
      ui.reply.play().catch(() => {});
      meters.push(meterFor(stream, ui.levelOut));
    };
    const channel = pc.createDataChannel('text');
    session.channel = channel;
    channel.onmessage = onServerMessage;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && session.pc === pc) post({ type: 'ice-candidate', webrtc_id: session.id, candidate: candidate.toJSON() }).catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (session.pc !== pc) return;
      if (pc.connectionState === 'connected' && session.state === 'connecting') {
        session.startedAt = performance.now();
        setState('live');
      } else if (pc.connectionState === 'failed') stop('error', 'The connection failed (no route for media: the server may need a TURN server).');
      else if (pc.connectionState === 'closed') stop('ended');
    };
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await post({ sdp: pc.localDescription.sdp, type: 'offer', webrtc_id: session.id });
    if (answer.status === 'failed') {
      const explain = ERRORS[answer.meta?.error];
      throw new Error(explain ? explain(answer.meta) : `The server refused the call: ${answer.meta?.error}.`);
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    session.secret = answer.session?.secret || '';
    followOutputs();
    sendInputs().catch(() => {});
    startTicking(meters);
  } catch (error) {
    stop('error', error.message);
  }
}

function stop(state = 'ended', message) {
  cancelAnimationFrame(session.tick);
  const { pc, media, channel, audioContext, events } = session;
  events?.close();
  session.events = null;
  session.pc = null;
  session.channel = null;
  session.media = null;
  session.audioContext = null;
  session.startedAt = 0;
  session.secret = '';
  try { channel?.close(); } catch {}
  pc?.close();
  media?.getTracks().forEach((t) => t.stop());
  ui.local.srcObject = null;
  ui.remote.srcObject = null;
  audioContext?.close().catch(() => {});
  setLevel(ui.levelIn, 0);
  setLevel(ui.levelOut, 0);
  if (session.state !== 'error' || state === 'error') setState(state, message);
}

ui.call.addEventListener('click', () => {
  if (session.state === 'connecting' || session.state === 'live') stop('ended');
  else start();
});
ui.keypad.addEventListener('click', (event) => {
  const digit = event.target.closest('button')?.dataset.digit;
  if (digit && session.channel?.readyState === 'open') {
    session.channel.send(JSON.stringify({ type: 'dtmf', data: digit }));
    addMessage(`Sent ${digit}`);
  }
});
document.addEventListener('keydown', (event) => {
  if (session.state === 'live' && /^[0-9*#]$/.test(event.key) && event.target.tagName !== 'INPUT' && event.target.tagName !== 'SELECT') {
    ui.keypad.querySelector(`[data-digit="${CSS.escape(event.key)}"]`)?.click();
  }
});
if (config.mode === 'receive') ui.devices.hidden = true;
if (hasVideo) {
  ui.videos.hidden = false;
  ui.camera.hidden = false;
  ui.cameraLabel.hidden = false;
  document.body.dataset.video = 'true';
}
if (!hasAudio) {
  ui.meters.hidden = true;
  ui.microphone.hidden = true;
  ui.microphoneLabel.hidden = true;
}
if (config.accentColor) document.documentElement.style.setProperty('--accent', config.accentColor);
renderInputs();
setState('idle');
listDevices().catch(() => {});
