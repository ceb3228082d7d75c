// The desk page: the queue of waiting callers, live (server-sent events), and one call at a time
// over WebRTC with FastRTC's wire format. Zero-build, no dependencies; state on window.desk for tests.

const config = JSON.parse(document.getElementById('desk-config').textContent);
const $ = (id) => document.getElementById(id);
const ui = {
  feed: $('feed'), count: $('count'), empty: $('empty'), queue: $('queue'), call: $('call'), with: $('with'),
  state: $('state'), timer: $('timer'), keypad: $('keypad'), hangup: $('hangup'), error: $('error'), log: $('log'),
  remote: $('remote'), queueSection: $('queue-section'),
};
const STATE_TEXT = { connecting: 'Connecting…', live: 'Live', ended: 'Ended' };
const desk = { queue: [], skew: 0, call: null, state: 'idle', events: null, log: [] };
window.desk = desk;

function wait(since) {
  const seconds = Math.max(0, Math.floor((Date.now() - desk.skew - since) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function say(text) {
  desk.log.push(text);
  const item = document.createElement('li');
  item.textContent = text;
  ui.log.append(item);
  while (ui.log.children.length > 20) ui.log.firstElementChild.remove();
}

function showError(message) {
  ui.error.hidden = !message;
  ui.error.textContent = message || '';
}

function render() {
  const waiting = desk.queue.filter((c) => c.state === 'waiting');
  ui.count.textContent = String(waiting.length);
  ui.empty.hidden = desk.queue.length > 0;
  ui.queue.replaceChildren(...desk.queue.map((caller) => {
    const item = document.createElement('li');
    item.className = 'caller';
    item.dataset.state = caller.state;
    item.dataset.id = caller.id;
    const number = document.createElement('span');
    number.className = 'number';
    number.textContent = caller.from;
    const since = document.createElement('span');
    since.className = 'wait';
    since.dataset.since = String(caller.since);
    since.textContent = wait(caller.since);
    const action = document.createElement('button');
    action.type = 'button';
    action.className = 'answer';
    action.textContent = caller.state === 'waiting' ? 'Answer' : caller.state === 'answering' ? 'Answering…' : 'On a call';
    action.disabled = caller.state !== 'waiting' || desk.call !== null;
    action.addEventListener('click', () => answer(caller));
    item.append(number, since, action);
    return item;
  }));
}

function tick() {
  for (const since of ui.queue.querySelectorAll('.wait')) since.textContent = wait(Number(since.dataset.since));
  if (desk.call?.startedAt) {
    const seconds = Math.floor((performance.now() - desk.call.startedAt) / 1000);
    ui.timer.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }
}

function follow() {
  const events = new EventSource(`${config.base}/desk/events`);
  desk.events = events;
  events.addEventListener('queue', (event) => {
    const { now, queue } = JSON.parse(event.data);
    desk.skew = Date.now() - now;
    desk.queue = queue;
    ui.feed.dataset.state = 'live';
    ui.feed.textContent = 'Live: the list follows the line.';
    render();
  });
  events.onerror = () => {
    ui.feed.dataset.state = 'connecting';
    ui.feed.textContent = 'Reconnecting…';
  };
}

function setCallState(state) {
  desk.state = state;
  ui.state.dataset.state = state;
  ui.state.textContent = STATE_TEXT[state];
  ui.keypad.hidden = state !== 'live';
}

async function post(path, body) {
  const response = await fetch(`${config.base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json().catch(() => ({}));
  return { status: response.status, json };
}

async function answer(caller) {
  if (desk.call) return;
  showError('');
  const reserved = await post('/desk/answer', { caller: caller.id });
  if (reserved.status !== 200) {
    showError(reserved.json.error === 'taken' ? 'Someone else is answering this caller.' : 'This caller hung up.');
    return;
  }
  const ticket = reserved.json.ticket;
  const call = { ticket, caller, pc: null, channel: null, media: null, startedAt: 0 };
  desk.call = call;
  ui.with.textContent = caller.from;
  ui.timer.textContent = '0:00';
  ui.call.hidden = false;
  ui.queueSection.hidden = true;
  setCallState('connecting');
  render();
  try {
    call.media = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    const rtcConfiguration = await fetch(`${config.base}/webrtc/configuration`).then((r) => r.json());
    const pc = new RTCPeerConnection(rtcConfiguration);
    call.pc = pc;
    for (const track of call.media.getTracks()) pc.addTransceiver(track, { direction: 'sendrecv', streams: [call.media] });
    pc.ontrack = (event) => {
      ui.remote.srcObject = new MediaStream([event.track]);
      ui.remote.play().catch(() => {});
    };
    const channel = pc.createDataChannel('text');
    call.channel = channel;
    channel.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.type === 'log') say(String(message.data));
      else if (message.type === 'error') { showError(message.message); end(); }
      else if (message.type === 'end_stream') { say(String(message.data || 'The call ended.')); end(); }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && desk.call === call) post('/webrtc/offer', { type: 'ice-candidate', webrtc_id: ticket, candidate: candidate.toJSON() }).catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (desk.call !== call) return;
      if (pc.connectionState === 'connected') {
        call.startedAt = performance.now();
        setCallState('live');
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') end();
    };
    await pc.setLocalDescription(await pc.createOffer());
    const { json } = await post('/webrtc/offer', { sdp: pc.localDescription.sdp, type: 'offer', webrtc_id: ticket });
    if (json.status === 'failed' || !json.sdp) throw new Error(`The server refused the call: ${json.meta?.error || json.message || 'unknown'}.`);
    await pc.setRemoteDescription({ type: 'answer', sdp: json.sdp });
  } catch (error) {
    showError(error.name === 'NotAllowedError' ? 'Microphone access was denied. Allow it and answer again.' : error.message);
    end();
  }
}

function end() {
  const call = desk.call;
  if (!call) return;
  desk.call = null;
  try { call.channel?.close(); } catch {}
  call.pc?.close();
  call.media?.getTracks().forEach((t) => t.stop());
  ui.remote.srcObject = null;
  setCallState('ended');
  ui.call.hidden = true;
  ui.queueSection.hidden = false;
  render();
}

ui.hangup.addEventListener('click', () => {
  say('You hung up.');
  end();
});
ui.keypad.addEventListener('click', (event) => {
  const digit = event.target.closest('button')?.dataset.digit;
  const channel = desk.call?.channel;
  if (digit && channel?.readyState === 'open') {
    channel.send(JSON.stringify({ type: 'dtmf', data: digit }));
    say(`Sent ${digit}`);
  }
});
document.addEventListener('keydown', (event) => {
  if (desk.state === 'live' && /^[0-9*#]$/.test(event.key)) ui.keypad.querySelector(`[data-digit="${CSS.escape(event.key)}"]`)?.click();
});

setInterval(tick, 1000);
render();
follow();
