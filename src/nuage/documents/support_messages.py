"""The words of support in EN, FR and NL (Languages): ticket notices (SUP-1, SUP-2) and the invoice
lines of interventions (BIL-5), returns (HW-1), port-outs (BIL-7) and Telavox resale (BIL-8)."""

from __future__ import annotations

SUPPORT_MESSAGES: dict[str, dict[str, str]] = {
    "support.opened.open": {
        "en": "Your ticket is registered; the support desk answers by {respond_by} (Brussels time).",
        "fr": "Votre ticket est enregistré ; le support répond au plus tard le {respond_by} "
        "(heure de Bruxelles).",
        "nl": "Uw ticket is geregistreerd; de support antwoordt uiterlijk op {respond_by} (Brusselse tijd).",
    },
    "support.opened.on_duty": {
        "en": "Out of opening hours: your critical ticket reaches the on-duty staff, who answer by "
        "{respond_by} (Brussels time, SUP-2).",
        "fr": "Hors des heures d'ouverture : votre ticket critique est transmis à l'équipe de garde, qui "
        "répond au plus tard le {respond_by} (heure de Bruxelles, SUP-2).",
        "nl": "Buiten de openingsuren: uw kritiek ticket gaat naar de wachtdienst, die uiterlijk op "
        "{respond_by} antwoordt (Brusselse tijd, SUP-2).",
    },
    "support.opened.deferred": {
        "en": "The support desk is closed: your ticket will be handled from {starts_at} (Brussels time). "
        "Out of hours only direct customers and partners reach the on-duty staff, for critical problems "
        "(SUP-2).",
        "fr": "Le support est fermé : votre ticket sera traité à partir du {starts_at} (heure de Bruxelles). "
        "Hors des heures d'ouverture, seuls les clients directs et les partenaires joignent l'équipe de "
        "garde, pour les problèmes critiques (SUP-2).",
        "nl": "De support is gesloten: uw ticket wordt behandeld vanaf {starts_at} (Brusselse tijd). Buiten "
        "de openingsuren bereiken alleen directe klanten en partners de wachtdienst, voor kritieke "
        "problemen (SUP-2).",
    },
    "support.status.new": {"en": "Ticket new", "fr": "Ticket nouveau", "nl": "Ticket nieuw"},
    "support.status.in_progress": {
        "en": "Ticket in progress",
        "fr": "Ticket en cours de traitement",
        "nl": "Ticket in behandeling",
    },
    "support.status.waiting_for_customer": {
        "en": "Waiting for your answer",
        "fr": "En attente de votre réponse",
        "nl": "Wacht op uw antwoord",
    },
    "support.status.resolved": {"en": "Ticket resolved", "fr": "Ticket résolu", "nl": "Ticket opgelost"},
    "support.status.closed": {"en": "Ticket closed", "fr": "Ticket clôturé", "nl": "Ticket afgesloten"},
    "support.intervention.billed": {
        "en": "Intervention of {minutes} min logged, billed on the next invoice (BIL-5)",
        "fr": "Intervention de {minutes} min enregistrée, facturée sur la prochaine facture (BIL-5)",
        "nl": "Interventie van {minutes} min geregistreerd, aangerekend op de volgende factuur (BIL-5)",
    },
    "support.intervention.covered": {
        "en": "Intervention of {minutes} min logged, not billed ({covered_by})",
        "fr": "Intervention de {minutes} min enregistrée, non facturée ({covered_by})",
        "nl": "Interventie van {minutes} min geregistreerd, niet aangerekend ({covered_by})",
    },
    "support.return.reported.operator": {
        "en": "Return {rma} of {model} {serial}: under warranty, the carriage is ours (HW-1)",
        "fr": "Retour {rma} de {model} {serial} : sous garantie, le transport est à nos frais (HW-1)",
        "nl": "Retour {rma} van {model} {serial}: onder garantie, het transport is voor onze rekening (HW-1)",
    },
    "support.return.reported.customer": {
        "en": "Return {rma} of {model} {serial}: out of warranty, the carriage ({carriage} EUR) "
        "is yours (HW-1)",
        "fr": "Retour {rma} de {model} {serial} : hors garantie, le transport ({carriage} EUR) "
        "est à vos frais (HW-1)",
        "nl": "Retour {rma} van {model} {serial}: buiten garantie, het transport ({carriage} EUR) is voor uw "
        "rekening (HW-1)",
    },
    "support.return.step": {
        "en": "Return {rma}: {state} (HW-1)",
        "fr": "Retour {rma} : {state} (HW-1)",
        "nl": "Retour {rma}: {state} (HW-1)",
    },
    # invoice lines (BIL-10)
    "intervention_time": {
        "en": "Intervention on ticket {ticket} (time, per started quarter hour)",
        "fr": "Intervention sur le ticket {ticket} (temps, par quart d'heure entamé)",
        "nl": "Interventie op ticket {ticket} (tijd, per begonnen kwartier)",
    },
    "intervention_material": {
        "en": "Intervention on ticket {ticket}: {material}",
        "fr": "Intervention sur le ticket {ticket} : {material}",
        "nl": "Interventie op ticket {ticket}: {material}",
    },
    "return_carriage": {
        "en": "Carriage of return {rma} ({model} {serial}), out of warranty (ticket {ticket})",
        "fr": "Transport du retour {rma} ({model} {serial}), hors garantie (ticket {ticket})",
        "nl": "Transport van retour {rma} ({model} {serial}), buiten garantie (ticket {ticket})",
    },
    "port_out": {
        "en": "Porting out number {number}",
        "fr": "Portage sortant du numéro {number}",
        "nl": "Uitgaande nummeroverdracht van {number}",
    },
    "ucaas_licence": {
        "en": "Telavox licence: {item}",
        "fr": "Licence Telavox : {item}",
        "nl": "Telavox-licentie: {item}",
    },
    "ucaas_shared_extension": {
        "en": "Telavox shared extension: {item}",
        "fr": "Extension partagée Telavox : {item}",
        "nl": "Gedeelde Telavox-extensie: {item}",
    },
    "ucaas_feature": {
        "en": "Telavox feature: {item}",
        "fr": "Fonctionnalité Telavox : {item}",
        "nl": "Telavox-functie: {item}",
    },
    "ucaas_addon": {
        "en": "Telavox add-on: {item}",
        "fr": "Add-on Telavox : {item}",
        "nl": "Telavox-add-on: {item}",
    },
    "ucaas_retroactive_licences": {
        "en": "Telavox licences added for abuse: {item}, {from} to {to}",
        "fr": "Licences Telavox ajoutées pour abus : {item}, du {from} au {to}",
        "nl": "Telavox-licenties toegevoegd wegens misbruik: {item}, van {from} tot {to}",
    },
    "support.mail.footer": {
        "en": "Ticket {ticket}. Answer this e-mail to add to the ticket (keep [#{ticket}] in the subject); "
        "the ticket on the portal is the record of your request (SUP-1).",
        "fr": "Ticket {ticket}. Répondez à cet e-mail pour compléter le ticket (gardez [#{ticket}] dans "
        "l'objet) ; le ticket sur le portail fait foi de votre demande (SUP-1).",
        "nl": "Ticket {ticket}. Beantwoord deze e-mail om het ticket aan te vullen (houd [#{ticket}] in het "
        "onderwerp); het ticket op het portaal is het bewijs van uw aanvraag (SUP-1).",
    },
    "support.mail.unknown_sender": {
        "en": "Your e-mail to the support desk was not registered: {sender} is not the address of a "
        "user or contact we know. Please write from the address on your account, or open a ticket on "
        "the portal (SUP-1: a ticket is the only proof of a request).",
        "fr": "Votre e-mail au support n'a pas été enregistré : {sender} n'est pas l'adresse d'un "
        "utilisateur ou d'un contact connu. Écrivez depuis l'adresse de votre compte, ou ouvrez un ticket "
        "sur le portail (SUP-1 : le ticket est la seule preuve d'une demande).",
        "nl": "Uw e-mail aan de support werd niet geregistreerd: {sender} is niet het adres van een "
        "gekende gebruiker of contactpersoon. Schrijf vanaf het adres van uw account, of open een ticket "
        "op het portaal (SUP-1: een ticket is het enige bewijs van een aanvraag).",
    },
    "support.mail.attachment": {
        "en": "Attached: {name} ({size} bytes).",
        "fr": "Pièce jointe : {name} ({size} octets).",
        "nl": "Bijlage: {name} ({size} bytes).",
    },
}
