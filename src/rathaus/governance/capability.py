"""Declaration of governance (bias evaluations and the AI system register; later reports) – see
rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations, AI system register with system cards",
    commands=(
        Command("eval bias", "rathaus.commands.governance:eval_bias"),
        Command("register", "rathaus.commands.register:register_app"),
    ),
    routers=("rathaus.api.routers.register:router", "rathaus.web.register:router"),
    tables=("rathaus.governance.schema", "rathaus.governance.register.tables"),
    migrations="rathaus.governance.migrations",
    settings="rathaus.governance.settings:GovernanceSettings",
    # the public page /register stands alone (no sign-in, no navigation); the overview links to it
    pages=(Page("/register/manage", "KI-Register", "AI register", roles=("oversight", "auditor", "admin"), order=80),),
    jobs=(
        Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
            description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
    ),
)
