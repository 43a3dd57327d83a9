"""Declaration of governance (bias evaluations, the AI system register, the use-case portfolio; later reports) –
see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations, AI system register with system cards, AI use-case portfolio",
    commands=(
        Command("eval bias", "rathaus.commands.governance:eval_bias"),
        Command("register", "rathaus.commands.register:register_app"),
        Command("portfolio", "rathaus.commands.portfolio:portfolio_app"),
    ),
    routers=("rathaus.api.routers.register:router", "rathaus.web.register:router",
             "rathaus.api.routers.portfolio:router", "rathaus.web.portfolio:router"),
    tables=("rathaus.governance.schema", "rathaus.governance.register.tables", "rathaus.governance.portfolio.schema"),
    migrations="rathaus.governance.migrations",
    settings="rathaus.governance.settings:GovernanceSettings",
    strings="rathaus.governance.portfolio.strings:STRINGS",
    # the public page /register stands alone (no sign-in, no navigation); the overview links to it
    pages=(Page("/portfolio", "KI-Vorhaben", "AI use cases", order=60),
           Page("/register/manage", "KI-Register", "AI register", roles=("oversight", "auditor", "admin"), order=80)),
    jobs=(
        Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
            description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
    ),
)
