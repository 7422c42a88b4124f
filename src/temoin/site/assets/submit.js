// Témoin submit page: fill in the testimony template and encrypt it in this browser.
//
// `temoin build` writes this file behind one line, `const PINNED = {...}`: the inbox key,
// the SRI of OpenPGP.js, the largest file taken and the messages. The page loads this file
// with Subresource Integrity. Nothing here reads a key or a fingerprint from the page: the
// script encrypts to PINNED.key and shows the fingerprint it computes from that key object.
//
// Nothing typed here is sent anywhere by this script: it reads the form, builds the template
// text (exactly what temoin.template.fill() writes), encrypts it, and offers the result to
// copy, download, share or open in the email app. OpenPGP.js is served from this site and
// starts loading when the source starts filling the form. Works under a CSP of 'self' and
// hashes: no eval, no inline code, downloads are blob: URLs.
/* global PINNED */

// Longer mailto: bodies get cut by some email apps; we still offer the link, with a warning.
const MAILTO_BODY_MAX = 16000;

const root = document.getElementById("temoin-encrypt");
if (root) {
  init(root);
}

function init(root) {
  const lang = root.dataset.lang === "en" ? "en" : "fr";
  const t = PINNED.messages[lang];
  const $ = (id) => document.getElementById(id);
  const status = $("temoin-status");
  const go = $("temoin-go");
  const fileInput = $("temoin-file");
  const text = {
    box: $("temoin-result"), output: $("temoin-output"), download: $("temoin-download"),
    mailto: $("temoin-mailto"),
  };
  const binary = {
    box: $("temoin-result-file"), download: $("temoin-download-file"),
    share: $("temoin-share"), mailto: $("temoin-mailto-file"),
  };
  const confirmBox = $("temoin-erase-confirm");
  let blobUrl = null;
  let shareFile = null;

  const nojs = $("temoin-nojs");
  if (nojs) nojs.hidden = true;
  root.hidden = false;

  function say(message, isError) {
    // An error interrupts (role=alert); progress is announced politely. Role and look are
    // set before the words: a live region announces a change of its text. An error says
    // it is one in words ("Error:"), not by its colour alone.
    status.setAttribute("role", isError ? "alert" : "status");
    status.classList.toggle("temoin-error", Boolean(isError));
    status.textContent = isError ? t.errorPrefix + message : message;
  }

  function forgetResult() {
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = null;
    shareFile = null;
    text.output.value = "";
    text.download.href = "#";
    binary.download.href = "#";
    text.mailto.href = "mailto:" + root.dataset.address;
    binary.mailto.href = "mailto:" + root.dataset.address;
    binary.share.hidden = true;
    text.box.hidden = true;
    binary.box.hidden = true;
  }

  // OpenPGP.js starts loading as soon as the source starts filling the form, so "Encrypt"
  // does not wait for it on a slow link; the key's fingerprint is shown once it has loaded.
  const start = () => {
    library(t).then(({ fingerprint }) => showFingerprint(fingerprint, t, say, go))
      .catch((err) => say(err && err.temoin ? err.message : t.library, true));
  };
  root.addEventListener("focusin", start, { once: true });
  root.addEventListener("input", start, { once: true });

  go.addEventListener("click", async () => {
    go.disabled = true;
    forgetResult();
    say(t.loading, false);
    try {
      const file = fileInput.files && fileInput.files[0];
      check(root, t, file);
      const lib = await library(t);
      showFingerprint(lib.fingerprint, t, say, go);
      const out = await encrypt(lib, root, file);
      blobUrl = URL.createObjectURL(new Blob([out.data], {
        type: file ? "application/octet-stream" : "application/pgp-encrypted" }));
      if (file) {
        binary.download.href = blobUrl;
        binary.mailto.href = mailtoHref(root.dataset.address, t.subject, "");
        shareFile = new File([out.data], "message.gpg", { type: "application/octet-stream" });
        binary.share.hidden = !(navigator.canShare && navigator.canShare({ files: [shareFile] }));
        binary.box.hidden = false;
        say(t.doneFile.replace("{size}", size(out.data.length, t)), false);
        binary.download.focus();
      } else {
        // Only a text testimony is shown as text: a few kilobytes, quick to copy.
        text.output.value = out.data;
        text.download.href = blobUrl;
        text.mailto.href = mailtoHref(root.dataset.address, t.subject, out.data);
        text.box.hidden = false;
        say(out.data.length > MAILTO_BODY_MAX ? t.done + " " + t.long : t.done, false);
      }
    } catch (err) {
      // Library and browser errors name what failed, never the text being encrypted.
      say(err && err.temoin ? err.message : t.failed + (err && err.message), true);
    } finally {
      go.disabled = false;
    }
  });

  binary.share.addEventListener("click", async () => {
    try {
      await navigator.share({ files: [shareFile] });
    } catch (_) {
      // Cancelled, or refused by the system: the download link is still there.
    }
  });

  $("temoin-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text.output.value);
      say(t.copied, false);
    } catch (_) {
      text.output.focus();
      text.output.select();
      // The old API still works where the asynchronous clipboard is refused (plain http).
      say(document.execCommand("copy") ? t.copied : t.copyFailed, false);
    }
  });

  // "Erase everything" stands apart from "Encrypt" and asks first.
  $("temoin-clear").addEventListener("click", () => {
    confirmBox.hidden = false;
    $("temoin-clear-no").focus();
  });
  $("temoin-clear-no").addEventListener("click", () => {
    confirmBox.hidden = true;
    $("temoin-clear").focus();
  });
  $("temoin-clear-yes").addEventListener("click", () => {
    for (const el of root.querySelectorAll(".temoin-field")) el.value = "";
    for (const el of root.querySelectorAll('input[type="radio"]')) el.checked = false;
    fileInput.value = "";
    forgetResult();
    confirmBox.hidden = true;
    say(t.cleared, false);
    go.focus();
  });
}

function fail(message) {
  const err = new Error(message);
  err.temoin = true;
  return err;
}

function group(fpr) {
  return fpr.replace(/(.{4})(?!$)/g, "$1 ");
}

// Show the fingerprint computed from the key the form encrypts to. The page's static copy
// (for readers without JavaScript) must say the same; if it does not, the page was changed
// after the build, and the form refuses to work.
function showFingerprint(fingerprint, t, say, go) {
  const used = document.getElementById("temoin-key-used");
  document.getElementById("temoin-key-used-fpr").textContent = group(fingerprint);
  used.hidden = false;
  const shown = document.getElementById("temoin-fpr");
  if (shown && shown.textContent.replace(/\s+/g, "").toUpperCase() !== fingerprint) {
    go.disabled = true;
    go.hidden = true;
    say(t.mismatch, true);
    throw fail(t.mismatch);
  }
}

// --- OpenPGP.js, checked ------------------------------------------------------------------
// A bare import() has no integrity check. A module <script> element has one: add it with
// PINNED's SRI, wait until it has loaded (the browser refuses other bytes: "error"), then
// import the same URL, which the module map now holds, checked.
let loaded = null;

function library(t) {
  if (!loaded) {
    const url = new URL(PINNED.openpgp.src, import.meta.url).href;
    loaded = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.type = "module";
      script.integrity = PINNED.openpgp.integrity;
      script.src = url;
      script.addEventListener("load", resolve, { once: true });
      script.addEventListener("error", () => reject(fail(t.library)), { once: true });
      document.head.append(script);
    })
      .then(() => import(url))
      .then(async (openpgp) => {
        const key = await openpgp.readKey({ armoredKey: PINNED.key });
        return { openpgp, key, fingerprint: key.getFingerprint().toUpperCase() };
      });
  }
  return loaded;
}

// --- the message ------------------------------------------------------------------------------

// The filled template: the same lines, in the same order, as temoin.template.fill().
export function composeTemplate(root) {
  const lines = [root.dataset.begin, root.dataset.intro, ""];
  for (const el of root.querySelectorAll(".temoin-field")) {
    const value = el.value.replace(/\r\n?/g, "\n").trim();
    if (el.dataset.multiline === "true") {
      lines.push(el.dataset.label);
      lines.push(...(value ? value.split("\n") : [""]));
      lines.push("");
    } else {
      const one = value.split(/\s+/).filter(Boolean).join(" ");
      lines.push((el.dataset.label + " " + one).trimEnd());
    }
  }
  const consent = root.querySelector("#temoin-consent");
  lines.push(consent.dataset.label);
  for (const radio of consent.querySelectorAll('input[type="radio"]')) {
    lines.push("[" + (radio.checked ? "x" : " ") + "] " + radio.dataset.option);
  }
  lines.push(root.dataset.end);
  return lines.join("\n") + "\n";
}

function isBlank(root) {
  return [...root.querySelectorAll(".temoin-field")].every((el) => !el.value.trim());
}

function size(n, t) {
  return n >= 1048576 ? (n / 1048576).toFixed(1) + " " + t.mb
    : Math.max(1, Math.round(n / 1024)) + " " + t.kb;
}

// What must hold before anything is encrypted.
function check(root, t, file) {
  if (isBlank(root) && !file) throw fail(t.empty);
  const consent = root.querySelector('#temoin-consent input[type="radio"]:checked');
  if (!consent) {
    root.querySelector('#temoin-consent input[type="radio"]').focus();
    throw fail(t.noConsent);
  }
  if (file && file.size > PINNED.maxFile) {
    throw fail(t.tooBig.replace("{max}", String(Math.floor(PINNED.maxFile / 1048576))));
  }
}

// { data }: the armored message (text only), or one binary OpenPGP message holding the MIME
// multipart of the template and the file.
async function encrypt({ openpgp, key }, root, file) {
  const text = composeTemplate(root);
  if (!file) {
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(text) });
    return { data: await openpgp.encrypt({ message, encryptionKeys: key, format: "armored" }) };
  }
  const bytes = mimeMessage(text, file, new Uint8Array(await file.arrayBuffer()));
  const message = await openpgp.createMessage({ binary: bytes });
  return { data: await openpgp.encrypt({ message, encryptionKeys: key, format: "binary" }) };
}

function mailtoHref(address, subject, armored) {
  // RFC 6068: line breaks in a body are %0D%0A.
  const body = armored ? "&body=" + encodeURIComponent(armored.replace(/\r?\n/g, "\r\n")) : "";
  return "mailto:" + address + "?subject=" + encodeURIComponent(subject) + body;
}

// --- MIME (the format is documented in temoin/template.py) ---------------------------------

const CRLF = "\r\n";
const ASCII = new TextEncoder();

// Base64 in 76-character lines (RFC 2045), as bytes. 10 MB take well under a second: whole
// blocks of 57 bytes × 1,024 lines go through one btoa() each, never a string per line.
function base64Lines(bytes) {
  const block = 57 * 1024;
  const lines = Math.ceil(bytes.length / 57);
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4 + Math.max(0, lines - 1) * 2);
  let at = 0;
  for (let i = 0; i < bytes.length; i += block) {
    const chunk = bytes.subarray(i, i + block);
    let bin = "";
    for (let j = 0; j < chunk.length; j += 8192) {
      bin += String.fromCharCode.apply(null, chunk.subarray(j, j + 8192));
    }
    const b64 = btoa(bin);
    for (let k = 0; k < b64.length; k += 76) {
      if (at > 0) {
        out[at++] = 13;
        out[at++] = 10;
      }
      at += ASCII.encodeInto(b64.slice(k, k + 76), out.subarray(at)).written;
    }
  }
  return out.subarray(0, at);
}

function mediaType(type) {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i.test(type)
    ? type.toLowerCase() : "application/octet-stream";
}

function dispositionFilename(name) {
  // One parameter only, so no parser has to choose between two spellings: a plain quoted
  // name when it is printable ASCII, else RFC 2231's filename*=utf-8''<percent-encoded>.
  const clean = (name || "file").replace(/[\u0000-\u001f\u007f]/g, "") || "file";
  if (/^[\x20-\x7e]*$/.test(clean) && !/["\\]/.test(clean)) return 'filename="' + clean + '"';
  const star = encodeURIComponent(clean).replace(/['()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return "filename*=utf-8''" + star;
}

// One MIME multipart: the filled template (text/plain) and the file as an attachment.
export function mimeMessage(text, file, data) {
  const rnd = crypto.getRandomValues(new Uint8Array(16));
  const boundary = "temoin-" + [...rnd].map((b) => b.toString(16).padStart(2, "0")).join("");
  const head = ASCII.encode([
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="' + boundary + '"',
    "",
    "--" + boundary,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline",
    "",
    "",
  ].join(CRLF));
  const textPart = base64Lines(ASCII.encode(text));
  const fileHead = ASCII.encode([
    "",
    "--" + boundary,
    "Content-Type: " + mediaType(file.type),
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: attachment; " + dispositionFilename(file.name),
    "",
    "",
  ].join(CRLF));
  const filePart = base64Lines(data);
  const tail = ASCII.encode(CRLF + "--" + boundary + "--" + CRLF);
  const parts = [head, textPart, fileHead, filePart, tail];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
