"""Declaration of governance (bias evaluations; later reports and the AI system register) – see
rathaus.core.capability."""

from rathaus.core.capability import Capability, Command

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations",
    commands=(Command("eval bias", "rathaus.commands.governance:eval_bias"),),
    tables=("rathaus.governance.schema",),
)
