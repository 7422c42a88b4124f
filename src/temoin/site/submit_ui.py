"""The submit page's interface strings in every language: the page's own (`UI`), the
explanation of each consent answer (`CONSENT_HELP`) and the script's messages (`JS_UI`,
shipped inside the generated submit.js)."""

from __future__ import annotations

from temoin.site.text import french_spacing

UI = {
    "fr": {
        "address": "Écrivez à", "fingerprint": "Empreinte de la clé",
        "key_summary": "Notre clé : empreinte, QR code, téléchargement",
        "qr": "QR code de l'empreinte (OPENPGP4FPR)",
        "download_key": "Télécharger la clé publique (inbox.asc)",
        "show_key": "La clé publique (texte)", "verify": "Vérifiez cette empreinte dans votre "
        "logiciel avant d'envoyer quoi que ce soit.",
        "nojs": "Ce formulaire a besoin de JavaScript, qui est désactivé ici (c'est le cas au "
                "niveau « Le plus sûr » de Tor Browser). Suivez plutôt la section 3 avec votre "
                "logiciel habituel.",
        "local": "Rien ne quitte cet appareil : le chiffrement se fait ici, avec notre clé "
                 "(section 2).",
        "key_used": "Chiffré pour la clé",
        "consent": "Acceptez-vous que nous publiions ce témoignage ? (obligatoire)",
        "consent_note": "Vous pourrez changer d'avis plus tard : écrivez-nous.",
        "file": "Une photo, une vidéo ou un document (facultatif ; retirez d'abord ses "
                "métadonnées)",
        "file_max": "Au plus {max} Mo.",
        "encrypt": "Chiffrer", "output": "Votre message chiffré",
        "copy": "Copier", "download": "Télécharger (.asc)",
        "download_file": "Télécharger le fichier chiffré (message.gpg)",
        "share": "Envoyer avec une application…",
        "mailto": "Ouvrir ma messagerie",
        "after": "Envoyez ce texte chiffré à {address} (collez-le, ou joignez le "
                 "fichier .asc), avec un objet banal. Puis effacez tout (bas de page).",
        "after_file": "Envoyez le fichier message.gpg en pièce jointe à {address}, "
                      "avec un objet banal et sans autre texte. Puis effacez tout (bas de "
                      "page) et supprimez le fichier téléchargé.",
        "erase_title": "Effacer",
        "erase": "Tout effacer…",
        "erase_ask": "Effacer le texte écrit, le fichier choisi et le message chiffré de cette "
                     "page ? On ne peut pas revenir en arrière.",
        "erase_yes": "Oui, tout effacer", "erase_no": "Annuler",
        "footer": "Clé de réception des témoignages",
    },
    "en": {
        "address": "Write to", "fingerprint": "Key fingerprint",
        "key_summary": "Our key: fingerprint, QR code, download",
        "qr": "QR code of the fingerprint (OPENPGP4FPR)",
        "download_key": "Download the public key (inbox.asc)",
        "show_key": "The public key (text)", "verify": "Check this fingerprint in your "
        "software before you send anything.",
        "nojs": "This form needs JavaScript, which is turned off here (as at Tor Browser's "
                "“Safest” level). Follow section 3 with your usual software instead.",
        "local": "Nothing leaves this device: encryption happens here, with our key "
                 "(section 2).",
        "key_used": "Encrypted to the key",
        "consent": "Do you agree that we publish this testimony? (required)",
        "consent_note": "You can change your mind later: write to us.",
        "file": "A photo, video or document (optional; remove its metadata first)",
        "file_max": "At most {max} MB.",
        "encrypt": "Encrypt", "output": "Your encrypted message",
        "copy": "Copy", "download": "Download (.asc)",
        "download_file": "Download the encrypted file (message.gpg)",
        "share": "Send with an app…",
        "mailto": "Open my email app",
        "after": "Send this encrypted text to {address} (paste it, or attach the "
                 ".asc file), with an ordinary subject. Then erase everything (end of page).",
        "after_file": "Attach the file message.gpg to an email to {address}, with an "
                      "ordinary subject and no other text. Then erase everything (end of "
                      "page) and delete the downloaded file.",
        "erase_title": "Erase",
        "erase": "Erase everything…",
        "erase_ask": "Erase the text you wrote, the file you chose and the encrypted message "
                     "from this page? This cannot be undone.",
        "erase_yes": "Yes, erase everything", "erase_no": "Cancel",
        "footer": "Testimony inbox key",
    },
}


# A plain explanation of each answer to the consent question (codes of vocab 'consent').
CONSENT_HELP = {
    "fr": {
        "none": "Nous lisons votre témoignage et pouvons le vérifier, mais rien n'en est "
                "publié, pas même dans les chiffres.",
        "aggregate_only": "Il compte seulement dans nos chiffres (nombre de cas par lieu, "
                          "date, type de violation) ; aucun récit n'est publié.",
        "anonymised": "Après vérification, nous pouvons publier un récit sans aucun nom ni "
                      "détail qui permette de reconnaître quelqu'un.",
        "named": "Après vérification, nous pouvons publier le récit avec les noms que vous "
                 "donnez, si c'est sans danger pour les personnes nommées.",
    },
    "en": {
        "none": "We read your testimony and may check it, but nothing of it is published, "
                "not even in the figures.",
        "aggregate_only": "It counts only in our figures (number of cases by place, date, "
                          "type of violation); no account is published.",
        "anonymised": "Once checked, we may publish an account without any name or detail "
                      "by which someone could be recognised.",
        "named": "Once checked, we may publish the account with the names you give, if "
                 "that is safe for the people named.",
    },
}
# The script's messages, shipped inside the generated submit.js (`PINNED.messages`).
JS_UI = {
    "fr": {
        "loading": "Chiffrement en cours…",
        "done": "Chiffré. Envoyez le texte ci-dessous, puis effacez tout.",
        "doneFile": "Chiffré ({size}). Téléchargez le fichier et envoyez-le, puis effacez "
                    "tout.",
        "empty": "Le formulaire est vide : écrivez au moins ce qui s'est passé.",
        "noConsent": "Choisissez une réponse à la question sur la publication.",
        "mismatch": "L'empreinte affichée sur cette page n'est pas celle de la clé du "
                    "formulaire : la page a été modifiée. N'envoyez rien et prévenez-nous "
                    "par un autre moyen.",
        "library": "La bibliothèque de chiffrement n'a pas pu être chargée ou vérifiée. "
                   "N'envoyez rien depuis cette page ; utilisez votre logiciel (section 3).",
        "tooBig": "Ce fichier est trop lourd (maximum {max} Mo). Envoyez-le à part, "
                  "chiffré avec votre logiciel (section 3).",
        "errorPrefix": "Erreur : ",
        "failed": "Le chiffrement a échoué : ",
        "copied": "Copié. Collez-le dans votre message.",
        "copyFailed": "Copie impossible : sélectionnez le texte et copiez-le vous-même.",
        "cleared": "Tout est effacé.",
        "long": "Message long : si votre messagerie le coupe, joignez plutôt le fichier "
                ".asc téléchargé.",
        "subject": "Bonjour",
        "mb": "Mo", "kb": "ko",
    },
    "en": {
        "loading": "Encrypting…",
        "done": "Encrypted. Send the text below, then erase everything.",
        "doneFile": "Encrypted ({size}). Download the file and send it, then erase "
                    "everything.",
        "errorPrefix": "Error: ",
        "empty": "The form is empty: write at least what happened.",
        "noConsent": "Choose an answer to the question about publication.",
        "mismatch": "The fingerprint shown on this page is not that of the form's key: "
                    "the page has been changed. Send nothing and tell us another way.",
        "library": "The encryption library could not be loaded or checked. Send nothing "
                   "from this page; use your own software (section 3).",
        "tooBig": "This file is too large (at most {max} MB). Send it separately, "
                  "encrypted with your own software (section 3).",
        "failed": "Encryption failed: ",
        "copied": "Copied. Paste it into your message.",
        "copyFailed": "Cannot copy: select the text and copy it yourself.",
        "cleared": "Everything is erased.",
        "long": "Long message: if your email app cuts it, attach the downloaded .asc file "
                "instead.",
        "subject": "Hello",
        "mb": "MB", "kb": "KB",
    },
}
# French typography (no-break spaces before : ; ? ! »), as ui.yaml's strings get it.
for _texts in (UI, CONSENT_HELP, JS_UI):
    _texts["fr"] = {k: french_spacing(v) for k, v in _texts["fr"].items()}
