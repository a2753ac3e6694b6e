/*! Vaarta voice widget: one tag, no dependencies.
 *  <script src="https://vaarta.example/widget.js" data-site-id="…" data-key="wk_…"></script>
 *  Optional: data-server (default: where this script came from), data-label, data-position
 *  ("right" | "left"). Protocol: docs/widget.md. The page gets window.VaartaWidget (state,
 *  captions, audio statistics, start(), stop()) and "vaarta-widget" events on document. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var cfg = {
    siteId: script.getAttribute('data-site-id') || '',
    key: script.getAttribute('data-key') || '',
    server: (script.getAttribute('data-server') || new URL(script.src, location.href).origin).replace(/\/$/, ''),
    label: script.getAttribute('data-label') || 'Talk to us',
    position: script.getAttribute('data-position') === 'left' ? 'left' : 'right'
  };
  var RATE = 16000;
  var FRAME = 320; // 20 ms at 16 kHz

  // ---- audio worklets: capture (resample to 16 kHz, 20 ms PCM16 frames) and playback
  // (16 kHz PCM16 in, a small jitter buffer, resampled to the device rate) ----
  var WORKLETS = [
    'class Capture extends AudioWorkletProcessor {',
    '  constructor() { super(); this.step = sampleRate / ' + RATE + '; this.pos = 0; this.out = new Int16Array(' + FRAME + '); this.n = 0;',
    '    var fc = 7000 / sampleRate, taps = 31, h = [], sum = 0;',
    '    for (var i = 0; i < taps; i++) { var m = i - (taps - 1) / 2; var s = m === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * m) / (Math.PI * m);',
    '      var w = 0.54 - 0.46 * Math.cos(2 * Math.PI * i / (taps - 1)); h.push(s * w); sum += s * w; }',
    '    this.h = h.map(function (x) { return x / sum; }); this.hist = new Float32Array(taps); this.hi = 0; this.prev = 0; this.cur = 0; }',
    '  process(inputs) { var ch = inputs[0] && inputs[0][0]; if (!ch) return true; var h = this.h, L = h.length;',
    '    for (var i = 0; i < ch.length; i++) { this.hist[this.hi] = ch[i]; this.hi = (this.hi + 1) % L; var y = 0;',
    '      for (var k = 0; k < L; k++) y += h[k] * this.hist[(this.hi + k) % L];',
    '      this.prev = this.cur; this.cur = y; this.pos -= 1;',
    '      while (this.pos < 0) { var f = this.pos + 1; var v = this.prev + (this.cur - this.prev) * f; this.pos += this.step;',
    '        v = Math.max(-1, Math.min(1, v)); this.out[this.n++] = v < 0 ? v * 32768 : v * 32767;',
    '        if (this.n === this.out.length) { this.port.postMessage(this.out.buffer, [this.out.buffer]); this.out = new Int16Array(' + FRAME + '); this.n = 0; } } }',
    '    return true; } }',
    'registerProcessor("vaarta-capture", Capture);',
    'class Playback extends AudioWorkletProcessor {',
    '  constructor() { super(); this.q = []; this.off = 0; this.buffered = 0; this.playing = false; this.step = ' + RATE + ' / sampleRate; this.frac = 0;',
    '    this.prebuffer = ' + RATE + ' * 0.08; this.played = 0; this.peak = 0; this.last = 0; this.reported = 0;',
    '    var self = this; this.port.onmessage = function (e) { if (e.data === "clear") { self.q = []; self.off = 0; self.buffered = 0; self.setPlaying(false); return; }',
    '      var s = new Int16Array(e.data); self.q.push(s); self.buffered += s.length; }; }',
    '  setPlaying(p) { if (p !== this.playing) { this.playing = p; this.port.postMessage({ playing: p, played: this.played, peak: this.peak }); } }',
    '  next() { while (this.q.length && this.off >= this.q[0].length) { this.q.shift(); this.off = 0; } if (!this.q.length) return null;',
    '    var v = this.q[0][this.off++] / 32768; this.buffered--; return v; }',
    '  process(inputs, outputs) { var out = outputs[0][0]; if (!this.playing && this.buffered >= this.prebuffer) this.setPlaying(true);',
    '    for (var i = 0; i < out.length; i++) { if (!this.playing) { out[i] = 0; continue; }',
    '      this.frac += this.step; while (this.frac >= 1) { var v = this.next(); if (v === null) { this.setPlaying(false); break; }',
    '        this.last = v; this.frac -= 1; this.played++; var a = Math.abs(v); if (a > this.peak) this.peak = a; }',
    '      out[i] = this.playing ? this.last : 0; }',
    '    for (var c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);',
    '    if (this.played - this.reported >= ' + RATE / 10 + ') { this.reported = this.played; this.port.postMessage({ playing: this.playing, played: this.played, peak: this.peak }); }',
    '    return true; } }',
    'registerProcessor("vaarta-playback", Playback);'
  ].join('\n');

  var CSS = [
    ':host { all: initial; }',
    '.root { position: fixed; bottom: 24px; z-index: 2147483000; font: 15px/1.4 system-ui, sans-serif; color: #1f2937; display: flex; flex-direction: column; gap: 10px; }',
    '.root.right { right: 24px; align-items: flex-end; } .root.left { left: 24px; align-items: flex-start; }',
    '.panel { display: none; width: 300px; background: #fff; border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.18); padding: 14px 16px; }',
    '.root[data-state]:not([data-state="idle"]) .panel { display: block; }',
    '.status { font-weight: 600; display: flex; align-items: center; gap: 8px; }',
    '.dot { width: 10px; height: 10px; border-radius: 50%; background: #9ca3af; }',
    '[data-state="connecting"] .dot { background: #f59e0b; } [data-state="listening"] .dot { background: #10b981; }',
    '[data-state="thinking"] .dot { background: #6366f1; } [data-state="speaking"] .dot { background: #3b82f6; }',
    '[data-state="error"] .dot { background: #ef4444; }',
    '[data-state="listening"] .dot, [data-state="speaking"] .dot { animation: pulse 1.2s infinite; }',
    '@keyframes pulse { 50% { transform: scale(1.5); opacity: .6; } }',
    '.captions { margin-top: 8px; max-height: 160px; overflow-y: auto; font-size: 14px; }',
    '.line { margin: 4px 0; } .line.you { color: #374151; } .line.bot { color: #1d4ed8; } .line.partial { opacity: .6; }',
    '.error { color: #b91c1c; margin-top: 6px; font-size: 14px; }',
    'button.mic { width: 60px; height: 60px; border-radius: 50%; border: none; cursor: pointer; background: #2563eb; color: #fff; box-shadow: 0 6px 18px rgba(37,99,235,.45); display: grid; place-items: center; }',
    'button.mic:hover { background: #1d4ed8; } button.mic:focus-visible { outline: 3px solid #f59e0b; outline-offset: 3px; }',
    'button.mic[aria-pressed="true"] { background: #dc2626; box-shadow: 0 6px 18px rgba(220,38,38,.45); }',
    'button.mic svg { width: 28px; height: 28px; fill: currentColor; }'
  ].join('\n');

  var MIC_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"/></svg>';
  var END_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 9c-1.6 0-3.15.25-4.6.72v3.1c0 .39-.23.74-.56.9-.98.49-1.87 1.12-2.66 1.85-.18.18-.43.28-.7.28-.28 0-.53-.11-.71-.29L.29 13.08a.956.956 0 0 1 0-1.36C3.34 8.83 7.46 7 12 7s8.66 1.83 11.71 4.72c.18.18.29.43.29.71 0 .28-.11.53-.29.71l-2.48 2.48c-.18.18-.43.29-.71.29-.27 0-.52-.11-.7-.28a11.27 11.27 0 0 0-2.67-1.85.996.996 0 0 1-.56-.9v-3.1C15.15 9.25 13.6 9 12 9z"/></svg>';

  var STATUS_TEXT = {
    idle: '', connecting: 'Connecting…', listening: 'Listening — go ahead', thinking: 'Thinking…',
    speaking: 'Speaking…', ended: 'Call ended', error: 'Something went wrong'
  };

  // ---- UI (in a shadow root, so the page's CSS and ours never mix) ----
  var host = document.createElement('div');
  host.setAttribute('data-vaarta-widget', '');
  var shadow = host.attachShadow({ mode: 'open' });
  shadow.innerHTML = '<style>' + CSS + '</style>' +
    '<div class="root ' + cfg.position + '" data-state="idle">' +
    '<section class="panel" role="dialog" aria-label="Voice call">' +
    '<div class="status"><span class="dot"></span><span class="status-text" role="status" aria-live="polite"></span></div>' +
    '<div class="captions" aria-live="polite" aria-label="Live captions"></div>' +
    '<div class="error" role="alert" hidden></div></section>' +
    '<button class="mic" type="button" aria-pressed="false"></button></div>';
  var root = shadow.querySelector('.root');
  var button = shadow.querySelector('button.mic');
  var statusText = shadow.querySelector('.status-text');
  var captions = shadow.querySelector('.captions');
  var errorBox = shadow.querySelector('.error');

  var api = {
    state: 'new', callId: null, error: null, transcripts: [], botTexts: [], events: [],
    stats: { framesSent: 0, audioBytesReceived: 0, playedSamples: 0, playedPeak: 0 },
    start: start, stop: stop,
    /** Shows a state's look without a call (for styling checks and screenshots). */
    preview: function (s) { setState(s); }
  };
  window.VaartaWidget = api;

  function emit(type, detail) {
    api.events.push({ type: type, detail: detail, at: Date.now() });
    document.dispatchEvent(new CustomEvent('vaarta-widget', { detail: { type: type, data: detail } }));
  }

  function setState(s) {
    if (api.state === s) return;
    api.state = s;
    root.setAttribute('data-state', s);
    statusText.textContent = STATUS_TEXT[s] || s;
    var active = s === 'connecting' || s === 'listening' || s === 'thinking' || s === 'speaking';
    button.setAttribute('aria-pressed', active ? 'true' : 'false');
    button.setAttribute('aria-label', active ? 'End voice call' : cfg.label + ' (start a voice call)');
    button.innerHTML = active ? END_ICON : MIC_ICON;
    emit('state', s);
  }

  function showError(message) {
    api.error = message;
    errorBox.textContent = message;
    errorBox.hidden = false;
    setState('error');
    emit('error', message);
  }

  var partialLine = null;
  var botLine = null;
  function caption(who, text, final) {
    if (who === 'you') {
      if (!partialLine) { partialLine = document.createElement('p'); partialLine.className = 'line you'; captions.appendChild(partialLine); }
      partialLine.textContent = 'You: ' + text;
      partialLine.classList.toggle('partial', !final);
      if (final) partialLine = null;
    } else {
      if (!botLine) { botLine = document.createElement('p'); botLine.className = 'line bot'; captions.appendChild(botLine); }
      botLine.textContent = 'Assistant: ' + text;
      if (final) botLine = null;
    }
    captions.scrollTop = captions.scrollHeight;
  }

  // ---- the call ----
  var ws = null, ctx = null, stream = null, capture = null, playback = null, playing = false, thinking = false, ending = false;

  function refreshState() {
    if (api.state === 'ended' || api.state === 'error' || api.state === 'connecting') return;
    setState(playing ? 'speaking' : thinking ? 'thinking' : 'listening');
  }

  function start() {
    if (ws || api.state === 'connecting') return;
    if (!cfg.siteId || !cfg.key) { showError('The widget is missing data-site-id or data-key.'); return; }
    api.error = null; errorBox.hidden = true; captions.textContent = ''; partialLine = botLine = null;
    ending = false; thinking = false; playing = false;
    setState('connecting');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioWorkletNode) {
      showError('This browser cannot make voice calls (no microphone or AudioWorklet support).');
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } })
      .then(function (s) {
        stream = s;
        ctx = new (window.AudioContext || window.webkitAudioContext)({ latencyHint: 'interactive' });
        var url = URL.createObjectURL(new Blob([WORKLETS], { type: 'application/javascript' }));
        return ctx.audioWorklet.addModule(url).then(function () { URL.revokeObjectURL(url); });
      })
      .then(function () {
        capture = new AudioWorkletNode(ctx, 'vaarta-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
        playback = new AudioWorkletNode(ctx, 'vaarta-playback', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
        ctx.createMediaStreamSource(stream).connect(capture);
        playback.connect(ctx.destination);
        playback.port.onmessage = function (e) {
          api.stats.playedSamples = e.data.played;
          api.stats.playedPeak = e.data.peak;
          if (e.data.playing !== playing) { playing = e.data.playing; if (playing) thinking = false; refreshState(); }
        };
        capture.port.onmessage = function (e) {
          if (ws && ws.readyState === 1 && api.callId) { ws.send(e.data); api.stats.framesSent++; }
        };
        if (ctx.state === 'suspended') ctx.resume();
        connect();
      })
      .catch(function (err) {
        var denied = err && (err.name === 'NotAllowedError' || err.name === 'SecurityError');
        var missing = err && (err.name === 'NotFoundError' || err.name === 'OverconstrainedError');
        teardown();
        showError(denied ? 'Microphone access was denied. Allow the microphone for this page and try again.'
          : missing ? 'No microphone was found.' : 'Could not start audio: ' + (err && err.message || err));
      });
  }

  function connect() {
    var wsUrl = cfg.server.replace(/^http/, 'ws') + '/v1/widget/ws?site_id=' + encodeURIComponent(cfg.siteId) + '&key=' + encodeURIComponent(cfg.key);
    var opened = false;
    ws = new WebSocket(wsUrl);
    ws.binaryType = 'arraybuffer';
    ws.onopen = function () {
      opened = true;
      ws.send(JSON.stringify({ type: 'start', sample_rate: RATE }));
    };
    ws.onmessage = function (e) {
      if (typeof e.data !== 'string') {
        api.stats.audioBytesReceived += e.data.byteLength;
        if (playback) playback.port.postMessage(e.data, [e.data]);
        return;
      }
      var m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      emit(m.type, m);
      switch (m.type) {
        case 'ready': api.callId = m.call_id; setState('listening'); break;
        case 'transcript':
          caption('you', m.text, m.is_final);
          if (m.is_final) { api.transcripts.push(m.text); thinking = true; refreshState(); }
          break;
        case 'bot_text':
          caption('bot', m.text, m.is_final);
          if (m.is_final) api.botTexts.push(m.text);
          break;
        case 'clear': if (playback) playback.port.postMessage('clear'); break;
        case 'state': if (m.state === 'transferring') statusText.textContent = 'Connecting you to a person…'; break;
        case 'transfer': if (m.ok === true) statusText.textContent = 'You are talking to a person'; break;
        case 'ended': ending = true; break;
        case 'error': api.error = m.message; break;
      }
    };
    ws.onerror = function () { if (!opened) emit('unreachable', wsUrl); };
    ws.onclose = function (e) {
      ws = null;
      var refused = e.code >= 4000;
      var reason = e.reason || '';
      teardown();
      if (!opened) showError('Cannot reach the voice server. Check your connection and try again.');
      else if (refused) showError('The call was refused: ' + (api.error || reason));
      else if (ending || e.code === 1000) setState('ended');
      else showError('The connection to the voice server was lost.');
    };
  }

  function teardown() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    if (capture) capture.port.onmessage = null;
    // Let queued bot audio finish (a goodbye) before the audio context goes.
    var c = ctx;
    if (c) setTimeout(function () { c.close(); }, playing ? 3000 : 0);
    stream = null; capture = null; ctx = null;
    api.callId = null; thinking = false;
  }

  function stop() {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'stop' }));
    else { teardown(); setState('ended'); }
  }

  button.addEventListener('click', function () {
    if (api.state === 'connecting' || api.state === 'listening' || api.state === 'thinking' || api.state === 'speaking') stop();
    else start();
  });
  shadow.addEventListener('keydown', function (e) { if (e.key === 'Escape' && ws) stop(); });
  setState('idle');
  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
