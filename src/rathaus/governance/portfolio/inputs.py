"""What people send: an idea, an assessment, a weights setting (pydantic; shared by API, web form, CLI files)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from rathaus.governance.portfolio.vocabulary import CRITERIA, JUDGED_CRITERIA, RiskClass, Urgency


class IdeaIn(BaseModel):
    """A use-case idea; the department comes from the signed-in principal, never from the input."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=3, max_length=200, description="short name of the use case")
    problem: str = Field(min_length=10, max_length=5000, description="which problem it solves, for whom")
    hours_saved_per_year: int = Field(ge=0, le=10_000_000, description="expected working hours saved per year")
    data_needed: str = Field(min_length=3, max_length=5000)
    affected_people: str = Field(min_length=3, max_length=5000, description="who is affected: staff, citizens …")
    urgency: Urgency
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = Field(default=None, description="receives the written assessment")

    @field_validator("contact_email", "contact_name", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    points: int = Field(ge=1, le=5)
    justification: str = Field(min_length=10, max_length=5000, description="the written reason for the points")


class AssessmentIn(BaseModel):
    """The IT department's assessment: 1–5 points with a written justification per judged criterion, the risk
    class with its justification, and a summary for the submitter."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    risk_class: RiskClass
    risk_justification: str = Field(min_length=10, max_length=5000)
    benefit: CriterionIn
    feasibility: CriterionIn
    climate: CriterionIn
    data_availability: CriterionIn
    summary: str = Field(min_length=10, max_length=10_000, description="the written assessment for the submitter")

    def criteria(self) -> dict[str, dict[str, object]]:
        judged = {c: getattr(self, c).model_dump() for c in JUDGED_CRITERIA}
        return {**judged, "risk": {"risk_class": self.risk_class, "justification": self.risk_justification}}


class WeightsIn(BaseModel):
    """Weights of the five criteria (non-negative, not all zero) and why they were set."""

    model_config = ConfigDict(extra="forbid")
    benefit: float = Field(ge=0, le=100)
    feasibility: float = Field(ge=0, le=100)
    risk: float = Field(ge=0, le=100)
    climate: float = Field(ge=0, le=100)
    data_availability: float = Field(ge=0, le=100)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _not_all_zero(self) -> WeightsIn:
        if sum(getattr(self, c) for c in CRITERIA) <= 0:
            raise ValueError("at least one weight must be above zero")
        return self

    def weights(self) -> dict[str, float]:
        return {c: float(getattr(self, c)) for c in CRITERIA}


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: str = Field(max_length=20)
    register_id: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
    note: str | None = Field(default=None, max_length=2000)
