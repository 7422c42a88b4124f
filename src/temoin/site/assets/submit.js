// Témoin submit page: fill in the testimony template and encrypt it in this browser.
//
// Nothing typed here is ever sent anywhere by this script: it reads the form, builds the
// template text (exactly what temoin.template.fill() writes), encrypts it with the inbox
// public key shown on the page, and offers the result to copy, download or open in the
// email app. OpenPGP.js is served from this site (assets/temoin/vendor/, pinned) and is
// loaded only when the source presses "Encrypt". Works under CSP default-src 'self'.

const MESSAGES = {
  fr: {
    loading: "Chiffrement en cours…",
    done: "Chiffré. Envoyez le texte ci-dessous, puis cliquez sur « Tout effacer ».",
    empty: "Le formulaire est vide : écrivez au moins ce qui s'est passé.",
    mismatch: "La clé de cette page ne correspond pas à l'empreinte affichée. N'envoyez rien "
      + "et prévenez-nous par un autre moyen.",
    tooBig: "Ce fichier est trop lourd (maximum {max} Mo). Envoyez-le à part, chiffré "
      + "avec votre logiciel (section 3).",
    failed: "Le chiffrement a échoué : ",
    copied: "Copié. Collez-le dans votre message.",
    copyFailed: "Copie impossible : sélectionnez le texte et copiez-le vous-même.",
    cleared: "Tout est effacé.",
    long: "Message long : si votre messagerie le coupe, joignez plutôt le fichier .asc "
      + "téléchargé.",
    subject: "Bonjour",
  },
  en: {
    loading: "Encrypting…",
    done: "Encrypted. Send the text below, then press “Clear everything”.",
    empty: "The form is empty: write at least what happened.",
    mismatch: "This page's key does not match the fingerprint shown. Send nothing and "
      + "tell us another way.",
    tooBig: "This file is too large (at most {max} MB). Send it separately, encrypted "
      + "with your own software (section 3).",
    failed: "Encryption failed: ",
    copied: "Copied. Paste it into your message.",
    copyFailed: "Cannot copy: select the text and copy it yourself.",
    cleared: "Everything is cleared.",
    long: "Long message: if your email app cuts it, attach the downloaded .asc file "
      + "instead.",
    subject: "Hello",
  },
};

// Longer mailto: bodies get cut by some email apps; we still offer the link, with a warning.
const MAILTO_BODY_MAX = 16000;

const root = document.getElementById("temoin-encrypt");
if (root) {
  init(root);
}

function init(root) {
  const lang = root.dataset.lang === "en" ? "en" : "fr";
  const t = MESSAGES[lang];
  const $ = (id) => document.getElementById(id);
  const status = $("temoin-status");
  const result = $("temoin-result");
  const output = $("temoin-output");
  const download = $("temoin-download");
  const mailto = $("temoin-mailto");
  const go = $("temoin-go");
  const fileInput = $("temoin-file");
  let blobUrl = null;

  const nojs = $("temoin-nojs");
  if (nojs) nojs.hidden = true;
  root.hidden = false;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("temoin-error", Boolean(isError));
  }

  function forgetResult() {
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = null;
    output.value = "";
    download.href = "#";
    mailto.href = "mailto:" + root.dataset.address;
    result.hidden = true;
  }

  go.addEventListener("click", async () => {
    go.disabled = true;
    forgetResult();
    say(t.loading, false);
    try {
      const armored = await encrypt(root, t, fileInput);
      output.value = armored;
      blobUrl = URL.createObjectURL(new Blob([armored], { type: "application/pgp-encrypted" }));
      download.href = blobUrl;
      mailto.href = mailtoHref(root.dataset.address, t.subject, armored);
      result.hidden = false;
      say(armored.length > MAILTO_BODY_MAX ? t.done + " " + t.long : t.done, false);
      output.focus();
      output.select();
    } catch (err) {
      // Library and browser errors name what failed, never the text being encrypted.
      say(err && err.temoin ? err.message : t.failed + (err && err.message), true);
    } finally {
      go.disabled = false;
    }
  });

  $("temoin-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(output.value);
      say(t.copied, false);
    } catch (_) {
      output.focus();
      output.select();
      // The old API still works where the asynchronous clipboard is refused (plain http).
      say(document.execCommand("copy") ? t.copied : t.copyFailed, false);
    }
  });

  $("temoin-clear").addEventListener("click", () => {
    for (const el of root.querySelectorAll(".temoin-field")) el.value = "";
    for (const el of root.querySelectorAll('input[type="radio"]')) el.checked = false;
    fileInput.value = "";
    forgetResult();
    say(t.cleared, false);
  });
}

function fail(message) {
  const err = new Error(message);
  err.temoin = true;
  return err;
}

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

async function encrypt(root, t, fileInput) {
  const file = fileInput.files && fileInput.files[0];
  if (isBlank(root) && !file) throw fail(t.empty);
  const maxFile = Number(root.dataset.maxFile) || 0;
  if (file && maxFile && file.size > maxFile) {
    throw fail(t.tooBig.replace("{max}", String(Math.floor(maxFile / 1048576))));
  }
  const openpgp = await import("./vendor/openpgp.min.mjs");
  const armoredKey = document.querySelector("#temoin-key pre code").textContent;
  const key = await openpgp.readKey({ armoredKey });
  if (key.getFingerprint().toUpperCase() !== root.dataset.fingerprint) throw fail(t.mismatch);
  const text = composeTemplate(root);
  const bytes = file
    ? mimeMessage(text, file, new Uint8Array(await file.arrayBuffer()))
    : new TextEncoder().encode(text);
  const message = await openpgp.createMessage({ binary: bytes });
  return openpgp.encrypt({ message, encryptionKeys: key, format: "armored" });
}

function mailtoHref(address, subject, armored) {
  // RFC 6068: line breaks in a body are %0D%0A.
  const body = armored.replace(/\r?\n/g, "\r\n");
  return "mailto:" + address + "?subject=" + encodeURIComponent(subject)
    + "&body=" + encodeURIComponent(body);
}

// --- MIME (the format is documented in temoin/template.py) ---------------------------------

const CRLF = "\r\n";

function base64Lines(bytes) {
  // 57 bytes make one 76-character line of base64 (RFC 2045's limit).
  const lines = [];
  for (let i = 0; i < bytes.length; i += 57) {
    lines.push(btoa(String.fromCharCode(...bytes.subarray(i, i + 57))));
  }
  return lines.join(CRLF);
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

export function mimeMessage(text, file, data) {
  const rnd = crypto.getRandomValues(new Uint8Array(16));
  const boundary = "temoin-" + [...rnd].map((b) => b.toString(16).padStart(2, "0")).join("");
  const head = [
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="' + boundary + '"',
    "",
    "--" + boundary,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: inline",
    "",
    base64Lines(new TextEncoder().encode(text)),
    "--" + boundary,
    "Content-Type: " + mediaType(file.type),
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: attachment; " + dispositionFilename(file.name),
    "",
    base64Lines(data),
    "--" + boundary + "--",
    "",
  ];
  return new TextEncoder().encode(head.join(CRLF));
}
