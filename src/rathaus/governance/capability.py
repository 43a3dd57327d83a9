"""Declaration of governance (bias evaluations, the AI use-case portfolio; later reports and the AI system
register) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations, AI use-case portfolio",
    commands=(Command("eval bias", "rathaus.commands.governance:eval_bias"),
              Command("portfolio", "rathaus.commands.portfolio:portfolio_app")),
    routers=("rathaus.api.routers.portfolio:router", "rathaus.web.portfolio:router"),
    tables=("rathaus.governance.schema", "rathaus.governance.portfolio.schema"),
    migrations="rathaus.governance.migrations",
    strings="rathaus.governance.portfolio.strings:STRINGS",
    pages=(Page("/portfolio", "KI-Vorhaben", "AI use cases", order=60),),
    jobs=(
        Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
            description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
    ),
)
