// ga4-ids.js: read the GA4 ids and consent a server-side conversion needs.
//
// An ES module with no dependencies. It asks gtag.js for the browser's
// client_id and session_id, reads the Consent Mode v2 state from the
// dataLayer, and hands back the fields ga4-outbox stores in
// ga4_outbox.events (client_id, session_id, session_event_at,
// consent_analytics_storage, consent_ad_user_data,
// consent_ad_personalization). Send them with the checkout request and store
// them with the order; the payment webhook later enqueues the conversion with
// them, in the same transaction that marks the order paid.
//
// Usage, with a form:
//
//   <form id="checkout" method="post" action="/checkout">...</form>
//   <script type="module">
//     import { collectGa4Fields, fillHiddenFields } from '/static/ga4-ids.js';
//     const form = document.getElementById('checkout');
//     form.addEventListener('submit', async (ev) => {
//       ev.preventDefault();
//       const fields = await collectGa4Fields('G-XXXXXXX'); // never rejects
//       fillHiddenFields(form, fields);
//       form.submit();
//     });
//   </script>
//
// Usage, with fetch:
//
//   const fields = await collectGa4Fields('G-XXXXXXX', { timeoutMs: 800 });
//   await fetch('/api/checkout', { method: 'POST',
//     headers: { 'Content-Type': 'application/json' },
//     body: JSON.stringify({ cart, ...fields }) });
//
// Rules it keeps:
// - It never waits longer than timeoutMs (default 1000 ms): when gtag is
//   missing (blocked by an ad blocker, not loaded yet) or never answers, the
//   ids are null and the checkout goes on.
// - When analytics_storage is denied it returns no ids at all (and does not
//   ask gtag for them); the consent it knows is still returned, so the server
//   records why the conversion was not sent.
// - Consent is read the standard Consent Mode v2 way: the
//   gtag('consent', 'default' | 'update', {...}) commands in window.dataLayer,
//   in order, the last word winning. A default scoped to a `region` list is
//   applied only when it denies (the page cannot know which region Google
//   matched, so it errs on the side of the user); an update always applies.
//   Unknown consent is null.
// - session_event_at is the click moment (new Date().toISOString()), taken
//   before waiting for gtag: GA4 attributes the conversion to the session
//   only when its timestamp lies inside that session.

/** The consent types ga4-outbox stores, in Consent Mode v2 names. */
export const CONSENT_TYPES = Object.freeze(['analytics_storage', 'ad_user_data', 'ad_personalization']);

const DEFAULT_TIMEOUT_MS = 1000;

/**
 * readConsent returns the consent state the dataLayer knows:
 * { analytics_storage, ad_user_data, ad_personalization }, each 'granted',
 * 'denied' or null (unknown).
 *
 * @param {Array} [dataLayer=window.dataLayer] the gtag/GTM dataLayer.
 */
export function readConsent(dataLayer = globalThis.dataLayer) {
  const state = { analytics_storage: null, ad_user_data: null, ad_personalization: null };
  if (!dataLayer || typeof dataLayer.length !== 'number') return state;
  for (let i = 0; i < dataLayer.length; i++) {
    applyConsentCommand(state, dataLayer[i]);
  }
  return state;
}

function applyConsentCommand(state, entry) {
  // gtag() pushes its `arguments` object; GTM templates may push arrays.
  if (!entry || typeof entry !== 'object' || entry[0] !== 'consent') return;
  const action = entry[1];
  const params = entry[2];
  if ((action !== 'default' && action !== 'update') || !params || typeof params !== 'object') return;
  const regional = action === 'default' && Array.isArray(params.region) && params.region.length > 0;
  for (const type of CONSENT_TYPES) {
    const v = params[type];
    if (v !== 'granted' && v !== 'denied') continue;
    if (regional && v !== 'denied') continue;
    state[type] = v;
  }
}

/**
 * sessionEventAt returns the in-session moment to store with the order: the
 * checkout click time as an ISO 8601 UTC string.
 *
 * @param {Date} [now=new Date()]
 */
export function sessionEventAt(now = new Date()) {
  return now.toISOString();
}

/**
 * getGa4Ids asks gtag for client_id and session_id and reports the consent
 * state. It never rejects and resolves within timeoutMs.
 *
 * Resolves with { client_id, session_id, consent, timed_out }: ids are
 * strings or null; consent is readConsent()'s object; timed_out says that
 * gtag did not answer every question in time (or is missing).
 *
 * @param {string} measurementId the GA4 Measurement ID (G-XXXXXXX).
 * @param {object} [options]
 * @param {number} [options.timeoutMs=1000] how long to wait for gtag.
 * @param {Function} [options.gtag=window.gtag] the gtag function.
 * @param {Array} [options.dataLayer=window.dataLayer] where consent is read.
 */
export async function getGa4Ids(measurementId, options = {}) {
  const {
    timeoutMs = DEFAULT_TIMEOUT_MS,
    gtag = globalThis.gtag,
    dataLayer = globalThis.dataLayer,
  } = options;
  const consent = readConsent(dataLayer);
  const result = { client_id: null, session_id: null, consent, timed_out: false };
  if (consent.analytics_storage === 'denied') return result;
  if (typeof gtag !== 'function' || !measurementId) {
    result.timed_out = typeof gtag !== 'function';
    return result;
  }
  const [clientId, sessionId] = await withTimeout(
    [askGtag(gtag, measurementId, 'client_id'), askGtag(gtag, measurementId, 'session_id')],
    timeoutMs,
  );
  result.client_id = clientId.value;
  result.session_id = sessionId.value;
  result.timed_out = !clientId.answered || !sessionId.answered;
  return result;
}

// askGtag returns a box that is filled when gtag answers; the box is read
// when everything answered or the timeout fired, whichever comes first.
function askGtag(gtag, measurementId, field) {
  const box = { value: null, answered: false };
  box.done = new Promise((resolve) => {
    try {
      gtag('get', measurementId, field, (v) => {
        box.value = normaliseId(v);
        box.answered = true;
        resolve();
      });
    } catch (_) {
      resolve(); // a broken gtag must not break the checkout
    }
  });
  return box;
}

async function withTimeout(boxes, timeoutMs) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, Math.max(0, timeoutMs)); });
  await Promise.race([Promise.all(boxes.map((b) => b.done)), timeout]);
  clearTimeout(timer);
  // Copy now: an answer arriving after the timeout must not change the result.
  return boxes.map((b) => ({ value: b.value, answered: b.answered }));
}

function normaliseId(v) {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(Math.trunc(v));
  if (typeof v === 'string') return v;
  return null;
}

/**
 * toOutboxFields turns getGa4Ids()'s result and the click moment into an
 * object keyed by the ga4_outbox.events column names, ready to POST as JSON.
 * Unknown values are null.
 *
 * @param {object} ids getGa4Ids()'s result.
 * @param {string|null} at sessionEventAt()'s result.
 */
export function toOutboxFields(ids, at) {
  const c = (ids && ids.consent) || {};
  return {
    client_id: (ids && ids.client_id) || null,
    session_id: (ids && ids.session_id) || null,
    session_event_at: at || null,
    consent_analytics_storage: c.analytics_storage || null,
    consent_ad_user_data: c.ad_user_data || null,
    consent_ad_personalization: c.ad_personalization || null,
  };
}

/**
 * collectGa4Fields takes the click moment, waits for the ids (see
 * getGa4Ids for options) and returns toOutboxFields()'s object. Call it
 * first thing in the checkout click handler. It never rejects.
 *
 * @param {string} measurementId the GA4 Measurement ID (G-XXXXXXX).
 * @param {object} [options] getGa4Ids's options, plus options.now (a Date).
 */
export async function collectGa4Fields(measurementId, options = {}) {
  const at = sessionEventAt(options.now || new Date());
  const ids = await getGa4Ids(measurementId, options);
  return toOutboxFields(ids, at);
}

/**
 * fillHiddenFields writes fields into the form's inputs of the same name,
 * creating hidden inputs that are missing. null becomes the empty string.
 * Returns the form.
 *
 * @param {HTMLFormElement} form
 * @param {object} fields toOutboxFields()'s or collectGa4Fields()'s object.
 */
export function fillHiddenFields(form, fields) {
  for (const [name, value] of Object.entries(fields)) {
    let input = form.querySelector(`input[name="${name}"]`);
    if (!input) {
      input = form.ownerDocument.createElement('input');
      input.type = 'hidden';
      input.name = name;
      form.appendChild(input);
    }
    input.value = value === null || value === undefined ? '' : String(value);
  }
  return form;
}
