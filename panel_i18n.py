"""Labels of the dashboard in Spanish (default: the operators are Spanish) and English.

labels(lang) -> a mapping; a missing label shows its key, so a gap is visible, not fatal
pick_lang(query_value, cookie_value) -> 'es' or 'en'
"""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("es", "en")
DEFAULT_LANG = "es"

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Panel de llamadas", "Calls dashboard"),
    "overview": ("Resumen", "Overview"),
    "leads": ("Leads", "Leads"),
    "review": ("Revisión", "Review"),
    "settings": ("Configuración", "Settings"),
    "logout": ("Salir", "Log out"),
    "login": ("Entrar", "Log in"),
    "username": ("Usuario", "User name"),
    "password": ("Contraseña", "Password"),
    "login_failed": ("Usuario o contraseña incorrectos", "Wrong user name or password"),
    "open": ("Abiertos", "Open"),
    "closed": ("Cerrados", "Closed"),
    "under_review": ("En revisión", "Under review"),
    "stranded": ("Sin llamada programada", "Stranded"),
    "due_now": ("Pendientes ya", "Due now"),
    "overdue": ("Con retraso", "Overdue"),
    "in_flight": ("En curso", "In flight"),
    "uncertain": ("Inciertas", "Uncertain"),
    "quarantined": ("En cuarentena", "Quarantined"),
    "appointments_today": ("Citas hoy", "Appointments today"),
    "appointments_week": ("Citas esta semana", "Appointments this week"),
    "dispatcher": ("Despachador", "Dispatcher"),
    "last_run": ("Última ejecución", "Last run"),
    "never": ("nunca", "never"),
    "paused": ("En pausa", "Paused"),
    "running": ("En marcha", "Running"),
    "alerts": ("Alertas", "Alerts"),
    "no_alerts": ("Sin alertas", "No alerts"),
    "calls_per_hour": ("Llamadas por hora (últimas 24 h)", "Calls per hour (last 24 h)"),
    "calls_per_day": ("Llamadas por día", "Calls per day"),
    "funnel": ("Embudo", "Funnel"),
    "attempts": ("Intentos por lead", "Attempts per lead"),
    "queue_48h": (
        "Llamadas pendientes, próximas 48 h (sombreado: horario laboral)",
        "Pending calls, next 48 h (shaded: working time)",
    ),
    "campaign": ("Campaña", "Campaign"),
    "all": ("Todas", "All"),
    "from": ("Desde", "From"),
    "to": ("Hasta", "To"),
    "filter": ("Filtrar", "Filter"),
    "imported": ("Importados", "Imported"),
    "called": ("Llamados", "Called"),
    "contacted": ("Contactados", "Contacted"),
    "appointment": ("Cita", "Appointment"),
    "declined": ("Rechazo", "Declined"),
    "max_attempts": ("Máx. intentos", "Max attempts"),
    "search": ("Buscar", "Search"),
    "name": ("Nombre", "Name"),
    "phone_last_digits": ("Teléfono (últimas cifras)", "Phone (last digits)"),
    "status": ("Estado", "Status"),
    "any": ("Cualquiera", "Any"),
    "phone": ("Teléfono", "Phone"),
    "no_results": ("Sin resultados", "No results"),
    "lead": ("Lead", "Lead"),
    "timeline": ("Historial", "Timeline"),
    "actions": ("Acciones", "Actions"),
    "call_now": ("Llamar ahora", "Call now"),
    "reschedule": ("Reprogramar", "Reschedule"),
    "cancel_pending": ("Cancelar llamadas pendientes", "Cancel pending calls"),
    "close_lead": ("Cerrar con motivo", "Close with reason"),
    "take_review": ("Pasar a revisión manual", "Take under manual review"),
    "release_review": ("Devolver a llamadas automáticas", "Release from review"),
    "add_dnc": ("Añadir a no llamar", "Add to do-not-call"),
    "reason": ("Motivo", "Reason"),
    "when_local": ("Cuándo (hora local)", "When (local time)"),
    "pending_call": ("Próxima llamada", "Next call"),
    "none": ("ninguna", "none"),
    "outcome": ("Resultado", "Outcome"),
    "duration": ("Duración", "Duration"),
    "summary": ("Resumen de la llamada", "Call summary"),
    "recording": ("Grabación", "Recording"),
    "schedule_change": ("Programación", "Schedule"),
    "audit": ("Auditoría", "Audit"),
    "review_queue": ("Cola de revisión (más antiguos primero)", "Review queue (oldest first)"),
    "collected": ("Información recogida", "Collected information"),
    "decide_call": ("Volver a llamar", "Call again"),
    "decide_not_interested": ("No interesado", "Not interested"),
    "decide_appointment": ("Cita gestionada", "Appointment handled"),
    "decide_wrong_number": ("Teléfono erróneo", "Wrong number"),
    "key": ("Clave", "Key"),
    "value": ("Valor efectivo", "Effective value"),
    "stored": ("Valor guardado", "Stored value"),
    "description": ("Descripción", "Description"),
    "save": ("Guardar", "Save"),
    "weekly_windows": ("Horario efectivo (tras la ley)", "Effective windows (after the law)"),
    "pause": ("Pausar", "Pause"),
    "resume": ("Reanudar", "Resume"),
    "forbidden": ("Solo un supervisor puede hacer esto", "Only a supervisor can do this"),
    "done": ("Hecho", "Done"),
    "error": ("Error", "Error"),
    "times_in": ("Horas en", "Times in"),
    "recent_changes": ("Cambios recientes", "Recent changes"),
    "days": ("Lun,Mar,Mié,Jue,Vie,Sáb,Dom", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    "problems": ("Problemas de configuración", "Configuration problems"),
    "calls": ("llamadas", "calls"),
    "role": ("Rol", "Role"),
}


def pick_lang(query_value: str | None, cookie_value: str | None = None) -> str:
    """`?lang=` first, then the remembered choice, else Spanish."""
    for value in (query_value, cookie_value):
        if value in LANGS:
            return value
    return DEFAULT_LANG


class _Labels(dict):
    def __missing__(self, key: str) -> str:
        return key


def labels(lang: str) -> Mapping[str, str]:
    """Every label in `lang` ('es' or 'en'; anything else is Spanish)."""
    index = 1 if lang == "en" else 0
    return _Labels({key: pair[index] for key, pair in _LABELS.items()})
