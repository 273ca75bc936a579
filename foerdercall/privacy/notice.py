"""The privacy notice of a call (Datenschutzhinweise, Art. 13 GDPR): what is stored, why, for how long.

Officials write it with the call while it is a draft; left empty, the template below applies, generated
from the call's data (its retention period, whether reviewers see the applicant's name, the award mode).
The template is a proposal, not legal advice: the city's data-protection officer checks it before a call is
published (it says so in its first line). Like the default criteria catalogue it is the call's content, in
German, not a translated UI string.
"""

from __future__ import annotations

from ..calls.models import Call
from ..offices.queries import office_by_key, office_names

TEMPLATE_MARK = (
    "[Vorlage aus den Daten des Aufrufs erzeugt – vor der Veröffentlichung durch die oder den "
    "Datenschutzbeauftragten der Stadt Leipzig zu prüfen]"
)


def default_privacy_notice(call: Call) -> str:
    procurement = call.mode == "procurement"
    contract = "Zuschlag und Vertrag" if procurement else "Bewilligung (Zuwendungsbescheid)"
    reviewers = (
        "die Gutachterinnen und Gutachter, ohne Ihren Namen und Ihre Organisation"
        if call.hide_applicant
        else "die Gutachterinnen und Gutachter"
    )
    months = call.retention_months
    offices = office_names(call.deciding_offices or [])
    together = " und ".join([", ".join(offices[:-1]), offices[-1]] if len(offices) > 1 else offices)
    addresses = "; ".join(
        dict.fromkeys(
            o.address
            for k in call.deciding_offices or []
            if (o := office_by_key(k)) is not None and o.address
        )
    )
    return "\n".join(
        [
            f"Datenschutzhinweise zum Aufruf „{call.title}“ (Art. 13 DSGVO)",
            TEMPLATE_MARK,
            "",
            f"1. Verantwortlich: Stadt Leipzig, {together}" + (f" ({addresses})" if addresses else "") + ". "
            "Die oder den behördlichen Datenschutzbeauftragten der Stadt Leipzig erreichen Sie über "
            "www.leipzig.de/datenschutz.",
            "2. Was wir speichern: Name, E-Mail-Adresse und Organisation Ihres Kontos; Ihr Angebot (Texte, "
            "Handlungsfeld, Betrag) und Ihre Anlagen mit Zeitpunkt und Prüfsumme; Nachforderungen und Ihre "
            "Antworten; die Nachrichten, die wir Ihnen senden; das Protokoll der Verfahrensschritte.",
            "3. Wozu: Durchführung dieses Aufrufs – Eingang, formale Prüfung, Begutachtung nach den veröffentlichten "
            f"Kriterien, gemeinsame Entscheidung der Ämter, {contract}, Begleitung der Umsetzung und Prüfung der "
            "Verwendung der Mittel.",
            "4. Rechtsgrundlage: Art. 6 Abs. 1 Buchst. e DSGVO in Verbindung mit § 3 SächsDSDG (Aufgabe im "
            "öffentlichen Interesse: Förderung der Kultur- und Kreativwirtschaft durch die Stadt Leipzig); "
            "für den Vertrag Art. 6 Abs. 1 Buchst. b DSGVO; für die Aufbewahrungspflichten Art. 6 Abs. 1 "
            "Buchst. c DSGVO.",
            f"5. Empfänger: die zuständigen Mitarbeitenden der Ämter ({together}); {reviewers} "
            "(zur Neutralität verpflichtet); die Kontaktstelle Kreativwirtschaft, wenn Sie eine Beratung wünschen; "
            "das Rechnungsprüfungsamt, Fördermittelgeber und Nachprüfungsbehörden, soweit sie das Verfahren prüfen. "
            "Geförderte Maßnahmen erscheinen mit Titel, Betrag und Auftragnehmer/in in der öffentlichen Liste.",
            "6. Wie lange: Angebote, die nicht gefördert werden (abgelehnt, ausgeschlossen, zurückgezogen, nicht "
            f"eingereicht oder Zuschlag nicht angenommen), werden {months} Monate nach dem Abschluss der Auswahl "
            "(der Aufruf ist „Entschieden“; ändert sich der Status eines Angebots danach noch, ab dieser Änderung) "
            "anonymisiert: Ihr Name und Ihre "
            "Angaben werden entfernt, Ihre Dateien gelöscht; Aktenzeichen, Punktzahl, Rang und Betrag bleiben ohne "
            "Namen im Vergabevermerk. Geförderte Maßnahmen: Vergabevermerk und Vertragsunterlagen mindestens "
            "3 Jahre nach dem Zuschlag, bei EFRE-Förderung 5 Jahre ab dem Ende des Jahres der letzten Zahlung.",
            "7. Ihre Rechte: Auskunft (Art. 15 DSGVO, auch als Download unter „Meine Daten“), Berichtigung "
            "(Art. 16), Löschung (Art. 17), Einschränkung der Verarbeitung (Art. 18), Datenübertragbarkeit "
            "(Art. 20) und Widerspruch (Art. 21). Sie können sich bei der Aufsichtsbehörde beschweren: "
            "Sächsische Datenschutz- und Transparenzbeauftragte, Devrientstraße 5, 01067 Dresden.",
            "8. Ihre Angaben sind für die Teilnahme erforderlich; ohne sie kann Ihr Angebot nicht berücksichtigt "
            "werden. Es gibt keine automatisierte Entscheidung: über jedes Angebot entscheiden Menschen.",
        ]
    )


def notice_text(call: Call) -> str:
    """The notice in force as the officials see and the data-protection officer checks it: their text, else the
    generated template (with its marker line)."""
    return (call.privacy_notice or "").strip() or default_privacy_notice(call)


def privacy_notice(call: Call) -> str:
    """The notice as published (the call's page, every document): the text in force without the template's
    internal marker line, which is a note for the officials only."""
    lines = notice_text(call).split("\n")
    return "\n".join(line for line in lines if line.strip() != TEMPLATE_MARK).strip()


def is_template(call: Call) -> bool:
    return not (call.privacy_notice or "").strip()
