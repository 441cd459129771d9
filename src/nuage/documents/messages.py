"""The words of invoices, credit notes, reminders and e-mails in EN, FR and NL (Languages, BIL-10).

One message table per language, keyed like the billing domain's ``description_key``
values, so every invoice line reads the same in the PDF, the UBL e-invoice and the e-mail.
Keys with a variable tail (``line.recurring.<item>``, ``line.early_termination.<item>``,
``line.catch_up.<item>``,
``line.one_time.hardware.<model>``) are composed from the item's own text.
"""

from __future__ import annotations

from collections.abc import Mapping

from nuage.documents.support_messages import SUPPORT_MESSAGES
from nuage.errors import InvalidInput

LANGUAGES = ("en", "fr", "nl")

# Counted items (CNT-1, ItemKind) and one-time fees (BIL-1, OneTimeKind).
ITEMS: dict[str, dict[str, str]] = {
    "billable_users": {"en": "Users", "fr": "Utilisateurs", "nl": "Gebruikers"},
    "national_numbers": {"en": "National numbers", "fr": "Numéros nationaux", "nl": "Nationale nummers"},
    "international_numbers": {
        "en": "International numbers",
        "fr": "Numéros internationaux",
        "nl": "Internationale nummers",
    },
    "virtual_faxes": {"en": "Virtual faxes", "fr": "Fax virtuels", "nl": "Virtuele faxen"},
    "conference_rooms": {"en": "Conference rooms", "fr": "Salles de conférence", "nl": "Conferentieruimtes"},
    "web_channels": {
        "en": "Click-to-call channels",
        "fr": "Canaux click-to-call",
        "nl": "Click-to-call-kanalen",
    },
    "traffic_packs": {"en": "Traffic packs", "fr": "Packs de trafic", "nl": "Belpakketten"},
    "recording_gb": {
        "en": "Call recording (GB)",
        "fr": "Enregistrement des appels (Go)",
        "nl": "Gespreksopname (GB)",
    },
    "ucaas_licences": {"en": "UCaaS licences", "fr": "Licences UCaaS", "nl": "UCaaS-licenties"},
    "trunk_channels": {"en": "SIP trunk channels", "fr": "Canaux de trunk SIP", "nl": "SIP-trunkkanalen"},
    "activation": {"en": "Activation", "fr": "Activation", "nl": "Activering"},
    "installation": {"en": "Installation", "fr": "Installation", "nl": "Installatie"},
    "hardware": {"en": "Hardware", "fr": "Matériel", "nl": "Hardware"},
    "meeting_room": {
        "en": "Web Meeting room (months)",
        "fr": "Salle Web Meeting (mois)",
        "nl": "Web Meeting-ruimte (maanden)",
    },
    "intervention_hour": {
        "en": "Intervention (hour)",
        "fr": "Intervention (heure)",
        "nl": "Interventie (uur)",
    },
    "return_carriage": {"en": "Return carriage", "fr": "Transport de retour", "nl": "Retourtransport"},
    "port_out": {
        "en": "Number port-out",
        "fr": "Portage sortant d'un numéro",
        "nl": "Uitgaande nummeroverdracht",
    },
}

MESSAGES: dict[str, dict[str, str]] = {
    # invoice lines (BIL-10)
    "line.recurring.flat_fee": {"en": "Flat fee", "fr": "Forfait", "nl": "Vast bedrag"},
    "line.recurring.international_number_minimum_term": {
        "en": "International numbers, 12-month minimum",
        "fr": "Numéros internationaux, durée minimale de 12 mois",
        "nl": "Internationale nummers, minimumduur 12 maanden",
    },
    "line.traffic.out_of_pack": {
        "en": "Calls outside packs",
        "fr": "Appels hors packs",
        "nl": "Gesprekken buiten pakketten",
    },
    "line.early_termination": {
        "en": "Early termination balance: {item}",
        "fr": "Solde de rupture anticipée : {item}",
        "nl": "Saldo vervroegde beëindiging: {item}",
    },
    "line.one_time.hardware.model": {
        "en": "Hardware: {model}",
        "fr": "Matériel : {model}",
        "nl": "Hardware: {model}",
    },
    "line.catch_up": {
        "en": "{item}: increase counted at the end of {counted_in}, for {period} (catch-up)",
        "fr": "{item} : hausse comptée fin {counted_in}, pour {period} (rattrapage)",
        "nl": "{item}: stijging geteld eind {counted_in}, voor {period} (inhaalregel)",
    },
    "line.regularisation.billable_users": {
        "en": "Declaration regularisation: {users} undeclared user(s) for {months} month(s), "
        "{from} to {through} (finding {finding})",
        "fr": "Régularisation de déclaration : {users} utilisateur(s) non déclaré(s) pendant "
        "{months} mois, de {from} à {through} (constat {finding})",
        "nl": "Regularisatie van de aangifte: {users} niet-aangegeven gebruiker(s) gedurende "
        "{months} maand(en), van {from} tot {through} (vaststelling {finding})",
    },
    "line.payment.late_interest": {
        "en": "Late-payment interest on invoice {invoice} (1% per month, {months})",
        "fr": "Intérêts de retard sur la facture {invoice} (1 % par mois, {months})",
        "nl": "Nalatigheidsintrest op factuur {invoice} (1% per maand, {months})",
    },
    "line.payment.reminder_fee": {
        "en": "Reminder fee, reminder {level} for invoice {invoice}",
        "fr": "Frais de rappel, rappel {level} pour la facture {invoice}",
        "nl": "Herinneringskosten, herinnering {level} voor factuur {invoice}",
    },
    "line.payment.collection_costs": {
        "en": "Collection costs: {note}",
        "fr": "Frais de recouvrement : {note}",
        "nl": "Invorderingskosten: {note}",
    },
    # VAT mentions (BIL-4)
    "vat.mention.reverse_charge": {
        "en": "Reverse charge: VAT due by the customer (art. 196 Directive 2006/112/EC)",
        "fr": "Autoliquidation : TVA due par le cocontractant (art. 196 Directive 2006/112/CE)",
        "nl": "Verlegging van heffing: btw verschuldigd door de medecontractant "
        "(art. 196 Richtlijn 2006/112/EG)",
    },
    "vat.mention.outside_eu": {
        "en": "Outside the scope of Belgian VAT (art. 21 §2 Belgian VAT code)",
        "fr": "Hors du champ d'application de la TVA belge (art. 21 §2 Code TVA)",
        "nl": "Buiten het toepassingsgebied van de Belgische btw (art. 21 §2 W.btw)",
    },
    "vat.exemption.compensation": {
        "en": "Exempt from VAT: late-payment interest, reminder fees and collection costs are "
        "compensation, not the price of a supply (PAY-2)",
        "fr": "Exonéré de TVA : intérêts de retard, frais de rappel et de recouvrement sont une "
        "indemnité, non le prix d'une prestation (PAY-2)",
        "nl": "Vrijgesteld van btw: nalatigheidsintrest, herinnerings- en invorderingskosten zijn "
        "een schadevergoeding, geen prijs van een dienst (PAY-2)",
    },
    # document words
    "doc.invoice": {"en": "Invoice", "fr": "Facture", "nl": "Factuur"},
    "doc.credit-note": {"en": "Credit note", "fr": "Note de crédit", "nl": "Creditnota"},
    "doc.number": {"en": "Number", "fr": "Numéro", "nl": "Nummer"},
    "doc.issue_date": {"en": "Issue date", "fr": "Date d'émission", "nl": "Factuurdatum"},
    "doc.due_date": {"en": "Due date", "fr": "Date d'échéance", "nl": "Vervaldatum"},
    "doc.period": {"en": "Period", "fr": "Période", "nl": "Periode"},
    "doc.customer": {"en": "Customer", "fr": "Client", "nl": "Klant"},
    "doc.vat_number": {"en": "VAT number", "fr": "N° TVA", "nl": "Btw-nummer"},
    "doc.enterprise_number": {"en": "Enterprise number", "fr": "N° d'entreprise", "nl": "Ondernemingsnummer"},
    "doc.rule": {"en": "Rule", "fr": "Règle", "nl": "Regel"},
    "doc.description": {"en": "Description", "fr": "Description", "nl": "Omschrijving"},
    "doc.quantity": {"en": "Quantity", "fr": "Quantité", "nl": "Aantal"},
    "doc.unit_price": {"en": "Unit price", "fr": "Prix unitaire", "nl": "Eenheidsprijs"},
    "doc.amount": {"en": "Amount", "fr": "Montant", "nl": "Bedrag"},
    "doc.sources": {"en": "Counted items", "fr": "Éléments comptés", "nl": "Getelde elementen"},
    "doc.summary": {
        "en": "Monthly summary of counted items",
        "fr": "Résumé mensuel des éléments comptés",
        "nl": "Maandelijks overzicht van de getelde elementen",
    },
    "doc.summary_hash": {"en": "Summary seal", "fr": "Sceau du résumé", "nl": "Zegel van het overzicht"},
    "doc.vat_breakdown": {"en": "VAT breakdown", "fr": "Ventilation TVA", "nl": "Btw-overzicht"},
    "doc.vat_rate": {"en": "VAT rate", "fr": "Taux TVA", "nl": "Btw-tarief"},
    "doc.taxable": {"en": "Taxable amount", "fr": "Base imposable", "nl": "Maatstaf van heffing"},
    "doc.vat": {"en": "VAT", "fr": "TVA", "nl": "Btw"},
    "doc.net": {"en": "Total excl. VAT", "fr": "Total HTVA", "nl": "Totaal excl. btw"},
    "doc.gross": {"en": "Total incl. VAT", "fr": "Total TVAC", "nl": "Totaal incl. btw"},
    "doc.to_pay": {"en": "Amount due", "fr": "Montant à payer", "nl": "Te betalen bedrag"},
    "doc.payment": {
        "en": "Please transfer {amount} to {iban} (BIC {bic}) by {due} "
        "with the structured reference {reference}.",
        "fr": "Merci de virer {amount} sur le compte {iban} (BIC {bic}) avant le {due} "
        "avec la communication structurée {reference}.",
        "nl": "Gelieve {amount} over te schrijven op {iban} (BIC {bic}) vóór {due} "
        "met de gestructureerde mededeling {reference}.",
    },
    "doc.credit_payment": {
        "en": "This credit note is deducted from your account balance.",
        "fr": "Cette note de crédit est déduite du solde de votre compte.",
        "nl": "Deze creditnota wordt van uw rekeningsaldo afgetrokken.",
    },
    "doc.cancels": {
        "en": "Cancels invoice {number}",
        "fr": "Annule la facture {number}",
        "nl": "Annuleert factuur {number}",
    },
    "doc.replaces": {
        "en": "Replaces invoice {number}",
        "fr": "Remplace la facture {number}",
        "nl": "Vervangt factuur {number}",
    },
    "doc.terms": {
        "en": "Late payment bears interest of 1% per month of delay, plus collection costs (PAY-2). "
        "Unpaid invoices may lead to suspension to minimum service, "
        "never to the end of the subscription (PAY-1).",
        "fr": "Tout retard de paiement entraîne un intérêt de 1 % par mois de retard, plus les frais de "
        "recouvrement (PAY-2). Le non-paiement peut entraîner la suspension au service minimum, "
        "jamais la fin de l'abonnement (PAY-1).",
        "nl": "Bij laattijdige betaling is een intrest van 1% per maand vertraging verschuldigd, plus de "
        "invorderingskosten (PAY-2). Niet-betaling kan leiden tot schorsing tot de minimale dienst, "
        "nooit tot het einde van het abonnement (PAY-1).",
    },
    "doc.support": {"en": "Support", "fr": "Support", "nl": "Ondersteuning"},
    "doc.calls": {
        "en": "{calls} calls, {seconds} s",
        "fr": "{calls} appels, {seconds} s",
        "nl": "{calls} gesprekken, {seconds} s",
    },
    "doc.floor": {
        "en": "counted {counted}, quarterly floor {floor}",
        "fr": "comptés {counted}, plancher trimestriel {floor}",
        "nl": "geteld {counted}, kwartaalminimum {floor}",
    },
    "doc.prorata": {"en": "pro rata {share}", "fr": "prorata {share}", "nl": "pro rata {share}"},
    "doc.months": {"en": "{n} month(s)", "fr": "{n} mois", "nl": "{n} maand(en)"},
    "doc.days": {"en": "{n} day(s)", "fr": "{n} jour(s)", "nl": "{n} dag(en)"},
    # e-mail (BIL-4) and reminders (PAY-2)
    "mail.invoice.subject": {
        "en": "{brand} {document} {number}",
        "fr": "{brand} {document} {number}",
        "nl": "{brand} {document} {number}",
    },
    "mail.invoice.body": {
        "en": "Hello,\n\nPlease find attached {document} {number} ({amount}), as a PDF and as a Peppol "
        "e-invoice (UBL).\nStructured reference: {reference}. Due date: {due}.\n\n{brand}",
        "fr": "Bonjour,\n\nVeuillez trouver ci-joint {document} {number} ({amount}), en PDF et en facture "
        "électronique Peppol (UBL).\nCommunication structurée : {reference}. Échéance : {due}.\n\n{brand}",
        "nl": "Goedendag,\n\nIn bijlage vindt u {document} {number} ({amount}), als pdf en als Peppol "
        "e-factuur (UBL).\nGestructureerde mededeling: {reference}. Vervaldatum: {due}.\n\n{brand}",
    },
    "mail.reminder.subject": {
        "en": "Payment reminder {level}: invoice {number}",
        "fr": "Rappel de paiement {level} : facture {number}",
        "nl": "Betalingsherinnering {level}: factuur {number}",
    },
    "mail.reminder.body": {
        "en": "Hello,\n\nInvoice {number} was due on {due}; {amount} remains unpaid. Please transfer it "
        "to {iban} with the structured reference {reference}.{fee}\n{terms}\n\n{brand}",
        "fr": "Bonjour,\n\nLa facture {number} était due le {due} ; {amount} reste impayé. Merci de le virer "
        "sur {iban} avec la communication structurée {reference}.{fee}\n{terms}\n\n{brand}",
        "nl": "Goedendag,\n\nFactuur {number} vervalt op {due}; {amount} blijft onbetaald. Gelieve het over "
        "te schrijven op {iban} met de gestructureerde mededeling {reference}.{fee}\n{terms}\n\n{brand}",
    },
    "mail.reminder.fee": {
        "en": " A reminder fee of {fee} will be charged on your next invoice (PAY-2).",
        "fr": " Des frais de rappel de {fee} seront portés sur votre prochaine facture (PAY-2).",
        "nl": " Herinneringskosten van {fee} worden op uw volgende factuur aangerekend (PAY-2).",
    },
}

MESSAGES.update(SUPPORT_MESSAGES)  # SUP-1, SUP-2, BIL-5, HW-1, BIL-7, BIL-8


def check_language(language: str) -> str:
    """Languages: one of en, fr, nl."""
    if language not in LANGUAGES:
        raise InvalidInput("language", f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    return language


def message(key: str, language: str, **params: object) -> str:
    """Languages: the text of ``key`` in ``language``, with ``params`` filled in."""
    texts = MESSAGES.get(key)
    if texts is None:
        raise InvalidInput("message", f"no text for {key!r}")
    return texts[check_language(language)].format(**params)


def item_text(item: str, language: str) -> str:
    """CNT-1/BIL-1: the name of a counted item or one-time fee."""
    texts = ITEMS.get(item)
    if texts is None:
        raise InvalidInput("item", f"no text for item {item!r}")
    return texts[check_language(language)]


def line_text(description_key: str, language: str, params: Mapping[str, str] | None = None) -> str:
    """BIL-10: the text of an invoice line's ``description_key`` in ``language``.

    Raises ``InvalidInput`` for a key that has no text, so an untranslated line never reaches
    a customer (a test checks every key the billing domain emits).
    """
    values = dict(params or {})
    if description_key in MESSAGES:
        return MESSAGES[description_key][check_language(language)].format_map(_Defaults(values))
    head, _, tail = description_key.rpartition(".")
    if head == "line.recurring":
        return item_text(tail, language)
    if head == "line.catch_up":
        values["item"] = item_text(tail, language)
        return MESSAGES[head][check_language(language)].format_map(_Defaults(values))
    if head == "line.early_termination":
        return message("line.early_termination", language, item=item_text(tail, language))
    if head == "line.one_time":
        return item_text(tail, language)
    if head == "line.one_time.hardware":
        return message("line.one_time.hardware.model", language, model=tail.replace("_", " "))
    raise InvalidInput("description_key", f"no {language} text for invoice line key {description_key!r}")


class _Defaults(dict[str, str]):
    """Parameters of a line; a missing one prints as a dash rather than failing a whole run."""

    def __missing__(self, key: str) -> str:
        return "-"
