"""Declaration of governance (bias evaluations; later reports and the AI system register) – see
rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations",
    commands=(Command("eval bias", "rathaus.commands.governance:eval_bias"),),
    tables=("rathaus.governance.schema",),
    jobs=(
        Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
            description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
    ),
)
