import type { Language } from '../config.ts';

/**
 * The built-in footers, per language: the mentions the CNIL requires in every prospecting
 * message, and the data-source notice on the first contact only. Mustache templates: `{{field}}`
 * (HTML-escaped in the HTML footer), `{{#field}}…{{/field}}` shown when the field is set.
 */
export const TEXT: Record<Language, string> = {
  fr: `________________________________________
Message envoyé par {{legalName}}, {{postalAddress}} ({{contactEmail}}).
Pourquoi ce message : {{reason}}
{{#firstContact}}Vos coordonnées professionnelles proviennent de : {{source}}{{#obtainedAt}}, obtenues le {{obtainedAt}}{{/obtainedAt}}.
{{/firstContact}}Vous pouvez vous opposer à recevoir nos messages, accéder à vos données ou en demander l'effacement en écrivant à {{privacyEmail}}.
Se désinscrire en un clic : {{unsubscribeUrl}}`,
  en: `________________________________________
Message sent by {{legalName}}, {{postalAddress}} ({{contactEmail}}).
Why you receive it: {{reason}}
{{#firstContact}}Your business contact details come from: {{source}}{{#obtainedAt}}, obtained on {{obtainedAt}}{{/obtainedAt}}.
{{/firstContact}}You may object to our messages, access your data or ask us to erase it by writing to {{privacyEmail}}.
Unsubscribe in one click: {{unsubscribeUrl}}`,
  de: `________________________________________
Nachricht von {{legalName}}, {{postalAddress}} ({{contactEmail}}).
Warum Sie diese Nachricht erhalten: {{reason}}
{{#firstContact}}Ihre geschäftlichen Kontaktdaten stammen aus: {{source}}{{#obtainedAt}}, erhalten am {{obtainedAt}}{{/obtainedAt}}.
{{/firstContact}}Sie können unseren Nachrichten widersprechen sowie Auskunft über Ihre Daten oder deren Löschung verlangen: {{privacyEmail}}.
Mit einem Klick abmelden: {{unsubscribeUrl}}`,
};

const P = 'style="margin:0 0 6px 0"';
export const HTML: Record<Language, string> = {
  fr: `<p ${P}>Message envoyé par <strong>{{legalName}}</strong>, {{postalAddress}} (<a href="mailto:{{contactEmail}}">{{contactEmail}}</a>).</p>
<p ${P}>Pourquoi ce message : {{reason}}</p>
{{#firstContact}}<p ${P}>Vos coordonnées professionnelles proviennent de : {{source}}{{#obtainedAt}}, obtenues le {{obtainedAt}}{{/obtainedAt}}.</p>
{{/firstContact}}<p ${P}>Vous pouvez vous opposer à recevoir nos messages, accéder à vos données ou en demander l'effacement en écrivant à <a href="mailto:{{privacyEmail}}">{{privacyEmail}}</a>.</p>
<p ${P}><a href="{{unsubscribeUrl}}">Se désinscrire en un clic</a></p>`,
  en: `<p ${P}>Message sent by <strong>{{legalName}}</strong>, {{postalAddress}} (<a href="mailto:{{contactEmail}}">{{contactEmail}}</a>).</p>
<p ${P}>Why you receive it: {{reason}}</p>
{{#firstContact}}<p ${P}>Your business contact details come from: {{source}}{{#obtainedAt}}, obtained on {{obtainedAt}}{{/obtainedAt}}.</p>
{{/firstContact}}<p ${P}>You may object to our messages, access your data or ask us to erase it by writing to <a href="mailto:{{privacyEmail}}">{{privacyEmail}}</a>.</p>
<p ${P}><a href="{{unsubscribeUrl}}">Unsubscribe in one click</a></p>`,
  de: `<p ${P}>Nachricht von <strong>{{legalName}}</strong>, {{postalAddress}} (<a href="mailto:{{contactEmail}}">{{contactEmail}}</a>).</p>
<p ${P}>Warum Sie diese Nachricht erhalten: {{reason}}</p>
{{#firstContact}}<p ${P}>Ihre geschäftlichen Kontaktdaten stammen aus: {{source}}{{#obtainedAt}}, erhalten am {{obtainedAt}}{{/obtainedAt}}.</p>
{{/firstContact}}<p ${P}>Sie können unseren Nachrichten widersprechen sowie Auskunft über Ihre Daten oder deren Löschung verlangen: <a href="mailto:{{privacyEmail}}">{{privacyEmail}}</a>.</p>
<p ${P}><a href="{{unsubscribeUrl}}">Mit einem Klick abmelden</a></p>`,
};
