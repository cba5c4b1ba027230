"""The console's words in Spanish (the default) and English.

A page asks for a message by its key (``t("login.title")``); a missing English text falls back
to the Spanish one, and a missing key shows the key itself (a test checks that every key has
both languages). The language is the ``lang`` query parameter, else the ``padron_lang`` cookie,
else Spanish.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

LANGUAGES: Final = ("es", "en")
DEFAULT_LANGUAGE: Final = "es"
LANG_COOKIE: Final = "padron_lang"

_MESSAGES: dict[str, tuple[str, str]] = {
    # key: (español, English)
    "app.name": ("padrón — consola", "padrón — console"),
    "nav.skip": ("Saltar al contenido", "Skip to content"),
    "nav.home": ("Inicio", "Home"),
    "nav.enrollment": ("Mesa de enrolamiento", "Enrollment desk"),
    "nav.adjudication": ("Adjudicación", "Adjudication"),
    "nav.gateway": ("Solicitudes de socios", "Partner requests"),
    "nav.audit": ("Auditoría", "Audit"),
    "nav.dashboard": ("Tablero", "Dashboard"),
    "nav.logout": ("Cerrar sesión", "Log out"),
    "nav.language": ("Idioma", "Language"),
    "nav.main": ("Navegación principal", "Main navigation"),
    "session.as": ("Sesión de", "Signed in as"),
    "session.role": ("rol", "role"),
    "session.expires": ("vence", "expires"),
    "login.title": ("Iniciar sesión", "Log in"),
    "login.intro": (
        "Presente su clave de API: la consola abre una sesión con su rol, sin guardar la clave.",
        "Present your API key: the console opens a session with its role and does not keep the key.",
    ),
    "login.key": ("Clave de API", "API key"),
    "login.submit": ("Entrar", "Log in"),
    "login.refused": ("La clave no fue aceptada.", "The key was not accepted."),
    "login.expired": ("Su sesión terminó; inicie sesión de nuevo.", "Your session ended; log in again."),
    "home.title": ("Inicio", "Home"),
    "home.intro": ("Lo que su rol puede hacer en la consola:", "What your role can do in the console:"),
    "home.nothing": (
        "Su rol no tiene páginas en la consola (verifica por la API).",
        "Your role has no console pages (it verifies through the API).",
    ),
    "error.title": ("No se pudo", "Could not"),
    "error.back": ("Volver al inicio", "Back to home"),
    "error.code": ("Código", "Code"),
    # enrollment
    "enroll.title": ("Mesa de enrolamiento", "Enrollment desk"),
    "enroll.demographics": ("Datos demográficos", "Demographics"),
    "enroll.given_names": ("Nombre(s)", "Given names"),
    "enroll.first_surname": ("Primer apellido", "First surname"),
    "enroll.second_surname": ("Segundo apellido", "Second surname"),
    "enroll.birth_date": ("Fecha de nacimiento", "Birth date"),
    "enroll.sex": ("Sexo", "Sex"),
    "enroll.sex.H": ("Hombre", "Male"),
    "enroll.sex.M": ("Mujer", "Female"),
    "enroll.sex.X": ("No binario", "Non-binary"),
    "enroll.birth_state": ("Entidad de nacimiento", "State of birth"),
    "enroll.nationality": ("Nacionalidad", "Nationality"),
    "enroll.reason": ("Motivo", "Reason"),
    "enroll.preview": ("CURP prevista", "CURP preview"),
    "enroll.preview.none": ("Complete los datos para ver la CURP.", "Fill in the data to see the CURP."),
    "enroll.rule": ("Regla que falló", "Rule that failed"),
    "enroll.samples": ("Muestras biométricas", "Biometric samples"),
    "enroll.face": ("Rostro", "Face"),
    "enroll.finger": ("Dedo", "Finger"),
    "enroll.quality": ("Calidad", "Quality"),
    "enroll.quality.ok": ("aceptable", "acceptable"),
    "enroll.quality.refused": ("rechazada", "refused"),
    "enroll.submit": ("Enrolar", "Enroll"),
    "enroll.noscript": (
        "La mesa de enrolamiento necesita JavaScript "
        "(la vista previa y la calidad se calculan en el servidor).",
        "The enrollment desk needs JavaScript (the preview and the quality are computed on the server).",
    ),
    "enroll.outcome": ("Resultado", "Outcome"),
    "enroll.issued": ("CURP emitida", "CURP issued"),
    "enroll.refused": (
        "Rechazado: la persona ya está enrolada como",
        "Refused: the person is already enrolled as",
    ),
    "enroll.pending": ("Enviado a adjudicación: casos", "Sent to adjudication: cases"),
    "enroll.failed": ("No se enroló", "Not enrolled"),
    # adjudication
    "adj.title": ("Cola de adjudicación", "Adjudication queue"),
    "adj.case": ("Caso", "Case"),
    "adj.opened": ("Abierto", "Opened"),
    "adj.age": ("Antigüedad", "Age"),
    "adj.candidate": ("Candidato", "Candidate"),
    "adj.applicant": ("Solicitante", "Applicant"),
    "adj.llr": ("LLR fusionado", "Fused LLR"),
    "adj.status": ("Estado", "Status"),
    "adj.empty": ("No hay casos abiertos.", "No open cases."),
    "adj.open_cases": ("casos abiertos", "open cases"),
    "adj.demographics": ("Datos demográficos", "Demographics"),
    "adj.field": ("Campo", "Field"),
    "adj.differs": ("difiere", "differs"),
    "adj.images": ("Imágenes", "Images"),
    "adj.score": ("Puntuación", "Score"),
    "adj.slot_llr": ("LLR", "LLR"),
    "adj.no_image": ("sin imagen", "no image"),
    "adj.decide": ("Decisión", "Decision"),
    "adj.reason": ("Motivo de la decisión", "Reason for the decision"),
    "adj.same": ("Misma persona", "Same person"),
    "adj.different": ("Personas distintas", "Different persons"),
    "adj.decided": ("Decidido", "Decided"),
    "adj.thresholds": ("Umbrales", "Thresholds"),
    "adj.minutiae": ("minucias dibujadas sobre la imagen", "minutiae drawn over the image"),
    # gateway
    "gw.title": ("Solicitudes de socios", "Partner requests"),
    "gw.pending": ("Pendientes", "Pending"),
    "gw.history": ("Historial", "History"),
    "gw.reciprocity": ("Reporte de reciprocidad", "Reciprocity report"),
    "gw.partner": ("Socio", "Partner"),
    "gw.agreement": ("Convenio", "Agreement"),
    "gw.purpose": ("Propósito", "Purpose"),
    "gw.operation": ("Operación", "Operation"),
    "gw.rung_asked": ("Nivel pedido", "Rung asked"),
    "gw.rung": ("Nivel concedido", "Rung granted"),
    "gw.case_ref": ("Expediente", "Case reference"),
    "gw.received": ("Recibida", "Received"),
    "gw.status": ("Estado", "Status"),
    "gw.would_disclose": ("Se divulgaría exactamente", "Exactly what would be disclosed"),
    "gw.nothing_disclosed": (
        "Solo acierto / no acierto o una referencia: ningún dato personal.",
        "Only hit / no hit or a reference: no personal data.",
    ),
    "gw.approval_rule": ("Regla de aprobación", "Approval rule"),
    "gw.approvals": ("Aprobaciones", "Approvals"),
    "gw.two_person": (
        "Regla de dos personas: la segunda aprobación debe ser de otro oficial.",
        "Two-person rule: the second approval must come from another officer.",
    ),
    "gw.you_approved": (
        "Usted ya decidió sobre esta solicitud: falta otro oficial.",
        "You have decided on this request already: another officer must.",
    ),
    "gw.approve": ("Aprobar", "Approve"),
    "gw.deny": ("Denegar", "Deny"),
    "gw.reason": ("Motivo", "Reason"),
    "gw.embargo": ("Embargo hasta (opcional)", "Embargo until (optional)"),
    "gw.reasons": ("Razones", "Reasons"),
    "gw.withheld": ("Retenido", "Withheld"),
    "gw.none": ("Ninguna.", "None."),
    "gw.received_n": ("recibidas", "received"),
    "gw.answered_n": ("respondidas", "answered"),
    "gw.denied_n": ("denegadas", "denied"),
    "gw.pending_n": ("pendientes", "pending"),
    "gw.sent_n": ("enviadas por nosotros", "sent by us"),
    "gw.decided": ("Decidida", "Decided"),
    # audit
    "audit.title": ("Explorador de auditoría", "Audit explorer"),
    "audit.filters": ("Filtros", "Filters"),
    "audit.curp": ("Persona (CURP)", "Person (CURP)"),
    "audit.actor": ("Actor", "Actor"),
    "audit.partner": ("Socio", "Partner"),
    "audit.purpose": ("Propósito", "Purpose"),
    "audit.any": ("cualquiera", "any"),
    "audit.since": ("Desde", "Since"),
    "audit.until": ("Hasta", "Until"),
    "audit.search": ("Buscar", "Search"),
    "audit.entries": ("Entradas", "Entries"),
    "audit.seq": ("Núm.", "Seq"),
    "audit.at": ("Fecha", "When"),
    "audit.action": ("Acción", "Action"),
    "audit.subject": ("Sujeto", "Subject"),
    "audit.outcome": ("Resultado", "Outcome"),
    "audit.verification": ("Verificación del registro", "Log verification"),
    "audit.verified": ("íntegro", "intact"),
    "audit.broken": ("ALTERADO", "ALTERED"),
    "audit.checkpoints": ("Últimos puntos de control", "Latest checkpoints"),
    "audit.n_entries": ("entradas", "entries"),
    "audit.verified_checkpoints": ("puntos de control verificados", "checkpoints verified"),
    "audit.size": ("Tamaño", "Size"),
    "audit.signers": ("Firmantes", "Signers"),
    "audit.cosigned": ("cofirmado", "cosigned"),
    "audit.own": ("propio", "own"),
    "audit.none": ("Sin entradas.", "No entries."),
    "audit.resident": ("Vista del residente", "Resident view"),
    "audit.resident.intro": (
        "Quién consultó el registro de una persona, cuándo y por qué.",
        "Who looked at a person's record, when and why.",
    ),
    "audit.who": ("Quién", "Who"),
    "audit.why": ("Por qué", "Why"),
    "audit.legal_basis": ("Fundamento", "Legal basis"),
    "audit.channel": ("Canal", "Channel"),
    # dashboard
    "dash.title": ("Tablero", "Dashboard"),
    "dash.enrollments": ("Enrolamientos por día", "Enrollments per day"),
    "dash.duplicate_rate": ("Tasa de duplicados", "Duplicate rate"),
    "dash.fte_rate": ("Tasa de falla de enrolamiento", "Failure-to-enroll rate"),
    "dash.backlog": ("Casos pendientes de adjudicación", "Adjudication backlog"),
    "dash.oldest": ("caso más antiguo", "oldest case"),
    "dash.scores": ("Histogramas de puntuación", "Score histograms"),
    "dash.det": ("Curva DET de la calibración vigente", "DET curve of the current calibration"),
    "dash.attempts": ("intentos", "attempts"),
    "dash.total": ("Intentos de enrolamiento", "Enrollment attempts"),
    "dash.issued": ("CURP emitida", "CURP issued"),
    "dash.refused": ("duplicado rechazado", "duplicate refused"),
    "dash.merged": ("fusionado en adjudicación", "merged by adjudication"),
    "dash.pending": ("en adjudicación", "in adjudication"),
    "dash.failed": ("falla de enrolamiento", "failure to enroll"),
    "dash.days": ("días", "days"),
    "dash.persons": ("personas", "persons"),
}

MESSAGES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(_MESSAGES)


def language(requested: str | None, cookie: str | None) -> str:
    """The page's language: the query's, else the cookie's, else Spanish."""
    for value in (requested, cookie):
        if value in LANGUAGES:
            return value
    return DEFAULT_LANGUAGE


def translator(lang: str) -> Callable[[str], str]:
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str) -> str:
        texts = MESSAGES.get(key)
        if texts is None:
            return key
        return texts[index] or texts[0]

    return t
