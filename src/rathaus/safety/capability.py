"""Declaration of the safeguards' own commands (content guard, personal-data detection) – see
rathaus.core.capability. The safeguards themselves act inside the model gateway for every capability."""

from rathaus.core.capability import Capability, Command

CAPABILITY = Capability(
    name="safety",
    title="Schutzmaßnahmen / safeguards",
    description="content guard and personal-data detection: checks and evaluations",
    commands=(
        Command("guard", "rathaus.commands.guard:guard_app"),
        Command("eval guard", "rathaus.commands.guard:eval_guard"),
        Command("eval pii", "rathaus.commands.safety:eval_pii"),
    ),
)
