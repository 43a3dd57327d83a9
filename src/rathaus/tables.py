"""Every table of rathaus in one metadata (for migrations and the schema check): core and capabilities."""

from rathaus.assistants import chat_schema, schema  # noqa: F401  (registers their tables)
from rathaus.core.schema import Base
from rathaus.governance import schema as governance_schema  # noqa: F401
from rathaus.knowledge import schema as knowledge_schema  # noqa: F401
from rathaus.library import schema as library_schema  # noqa: F401
from rathaus.traffic import schema as traffic_schema  # noqa: F401

metadata = Base.metadata
