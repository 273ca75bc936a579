"""Labels of the audit actions that are not transitions (a transition's label is in its workflow): the
proposal's history, the call's record and the Vergabevermerk name each action by them."""

# action: (German label, English label)
ACTION_LABELS = {
    "create_call": ("Aufruf angelegt", "Call created"),
    "update_call": ("Aufruf geändert", "Call changed"),
    "correct_call": ("Aufruf berichtigt", "Call corrected"),
    "copy_call": ("Aufruf als Kopie angelegt", "Call created as a copy"),
    "check_privacy_notice": (
        "Datenschutzhinweise als von der/dem Datenschutzbeauftragten geprüft markiert",
        "Privacy notice marked as checked by the data-protection officer",
    ),
    "start_draft": ("Entwurf begonnen", "Draft started"),
    "add_attachment": ("Anlage hochgeladen", "Attachment uploaded"),
    "remove_attachment": ("Anlage entfernt", "Attachment removed"),
    "extend_deadline": ("Frist verlängert", "Deadline extended"),
    "sign_neutrality": ("Neutralitätserklärung", "Declaration of neutrality"),
    "declare_conflict": ("Erklärung zu Interessenkonflikt", "Conflict of interest declared"),
    "assign_reviewer": ("Gutachter/in zugewiesen", "Reviewer assigned"),
    "submit_review": ("Gutachten abgegeben", "Review submitted"),
    "sign_off_approve": ("Zeichnung: Zustimmung", "Sign-off: approve"),
    "sign_off_reject": ("Zeichnung: Ablehnung", "Sign-off: reject"),
    "agree_tie_order": ("Reihenfolge bei Gleichstand zugestimmt", "Order of a tie agreed"),
    "add_milestone": ("Meilenstein hinzugefügt", "Milestone added"),
    "report_overdue": ("Abschlussbericht überfällig", "Final report overdue"),
    "create_user": ("Konto angelegt", "Account created"),
    "set_roles": ("Rollen geändert", "Roles changed"),
    "set_notify_mode": ("Benachrichtigung geändert", "Notifications changed"),
    "decline_review": ("Begutachtung abgelehnt", "Review declined"),
    "withdraw_assignment": ("Zuweisung beendet", "Assignment ended"),
    "auto_assign": ("Gutachter automatisch zugewiesen", "Reviewers assigned automatically"),
    "anonymise_proposal": (
        "Personenbezogene Daten anonymisiert (Aufbewahrungsfrist)",
        "Personal data anonymised (retention period)",
    ),
}
