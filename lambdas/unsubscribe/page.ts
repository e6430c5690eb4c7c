import type { Controller, Language } from '../../shared/config.ts';
import { formatDate } from '../../shared/dates.ts';
import { deFr, maskAddress } from '../../shared/french.ts';
import { escapeHtml } from '../../shared/html.ts';
import { ONE_CLICK_FIELD, ONE_CLICK_VALUE } from '../../shared/mime/list-unsubscribe.ts';

/** The small, accessible pages of the unsubscribe endpoint, in fr/en/de. */
const TEXT = {
  fr: {
    title: 'Se désinscrire',
    confirmIntro: (c: string) => `Vous ne recevrez plus de messages de prospection ${deFr(c)}.`,
    concerns: (a: string) => `Adresse concernée : ${a}`,
    alreadyOn: (c: string, on: string) =>
      `Vous êtes déjà désinscrit des messages ${deFr(c)} depuis le ${on} ; vous ne recevrez plus de messages.`,
    confirmQuestion: 'Confirmez-vous votre désinscription ?',
    button: 'Confirmer la désinscription',
    doneTitle: 'Désinscription enregistrée',
    done: (c: string) =>
      `C'est fait : ${c} ne vous enverra plus de messages. Votre demande a été prise en compte immédiatement.`,
    already: (c: string) =>
      `Votre désinscription auprès ${deFr(c)} était déjà enregistrée ; vous ne recevrez plus de messages.`,
    invalidTitle: 'Lien non valide',
    invalid: "Ce lien de désinscription n'est pas valide ou a expiré.",
    contact: (e: string) => `Pour vous désinscrire, écrivez à ${e}.`,
    contactGeneric:
      "Pour vous désinscrire, répondez au message reçu en le demandant : l'expéditeur doit le faire gratuitement.",
    rights: (e: string) => `Pour accéder à vos données ou en demander l'effacement : ${e}.`,
  },
  en: {
    title: 'Unsubscribe',
    confirmIntro: (c: string) => `You will no longer receive prospecting messages from ${c}.`,
    concerns: (a: string) => `Address: ${a}`,
    alreadyOn: (c: string, on: string) =>
      `You already unsubscribed from ${c} on ${on}; you will not receive any more messages.`,
    confirmQuestion: 'Do you confirm?',
    button: 'Confirm unsubscribe',
    doneTitle: 'You are unsubscribed',
    done: (c: string) => `Done: ${c} will not send you any more messages. Your request took effect immediately.`,
    already: (c: string) => `You had already unsubscribed from ${c}; you will not receive any more messages.`,
    invalidTitle: 'Link not valid',
    invalid: 'This unsubscribe link is not valid or has expired.',
    contact: (e: string) => `To unsubscribe, write to ${e}.`,
    contactGeneric: 'To unsubscribe, reply to the message you received and ask; the sender must do it free of charge.',
    rights: (e: string) => `To access your data or ask for its erasure: ${e}.`,
  },
  de: {
    title: 'Abmelden',
    confirmIntro: (c: string) => `Sie erhalten dann keine Werbenachrichten mehr von ${c}.`,
    concerns: (a: string) => `Betroffene Adresse: ${a}`,
    alreadyOn: (c: string, on: string) =>
      `Sie haben sich bereits am ${on} bei ${c} abgemeldet; Sie erhalten keine Nachrichten mehr.`,
    confirmQuestion: 'Möchten Sie sich abmelden?',
    button: 'Abmeldung bestätigen',
    doneTitle: 'Abmeldung gespeichert',
    done: (c: string) => `Erledigt: ${c} sendet Ihnen keine Nachrichten mehr. Ihre Abmeldung gilt ab sofort.`,
    already: (c: string) => `Sie hatten sich bereits bei ${c} abgemeldet; Sie erhalten keine Nachrichten mehr.`,
    invalidTitle: 'Ungültiger Link',
    invalid: 'Dieser Abmeldelink ist ungültig oder abgelaufen.',
    contact: (e: string) => `Zum Abmelden schreiben Sie an ${e}.`,
    contactGeneric: 'Zum Abmelden antworten Sie auf die erhaltene Nachricht; der Absender muss dies kostenlos tun.',
    rights: (e: string) => `Auskunft über Ihre Daten oder deren Löschung: ${e}.`,
  },
} satisfies Record<Language, unknown>;

export function pickLanguage(acceptLanguage: string | undefined, fallback: Language): Language {
  for (const part of (acceptLanguage ?? '').split(',')) {
    const tag = part.trim().slice(0, 2).toLowerCase();
    if (tag === 'fr' || tag === 'en' || tag === 'de') return tag;
  }
  return fallback;
}

function layout(lang: Language, title: string, body: string): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;background:#f5f5f5;margin:0;padding:2rem 1rem}
main{max-width:32rem;margin:0 auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1.4rem;margin-top:0}
button{font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:6px;padding:.75rem 1.25rem;cursor:pointer}
button:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}
.small{font-size:.875rem;color:#555}
</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

export function confirmPage(lang: Language, controller: Controller, action: string, recipient: string): string {
  const t = TEXT[lang];
  const name = escapeHtml(controller.legalName);
  return layout(
    lang,
    t.title,
    `<h1>${t.title}</h1>
<p>${t.confirmIntro(name)}</p>
<p class="small">${t.concerns(escapeHtml(maskAddress(recipient)))}</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="${ONE_CLICK_FIELD}" value="${ONE_CLICK_VALUE}">
<input type="hidden" name="via" value="page">
<p>${t.confirmQuestion}</p>
<button type="submit">${t.button}</button>
</form>
<p class="small">${t.rights(escapeHtml(controller.privacyEmail ?? controller.contactEmail))}</p>`,
  );
}

export function donePage(
  lang: Language,
  controller: Controller,
  created: boolean,
  recipient: string,
  since?: string,
): string {
  const t = TEXT[lang];
  const name = escapeHtml(controller.legalName);
  const said = created ? t.done(name) : since ? t.alreadyOn(name, formatDate(since, lang)) : t.already(name);
  return layout(
    lang,
    t.doneTitle,
    `<h1>${t.doneTitle}</h1>
<p role="status">${said}</p>
<p class="small">${t.concerns(escapeHtml(maskAddress(recipient)))}</p>
<p class="small">${t.rights(escapeHtml(controller.privacyEmail ?? controller.contactEmail))}</p>`,
  );
}

export function invalidPage(lang: Language, controller: Controller | undefined): string {
  const t = TEXT[lang];
  return layout(
    lang,
    t.invalidTitle,
    `<h1>${t.invalidTitle}</h1>
<p>${t.invalid}</p>
<p>${controller ? t.contact(`${escapeHtml(controller.legalName)} (${escapeHtml(controller.privacyEmail ?? controller.contactEmail)})`) : t.contactGeneric}</p>`,
  );
}
