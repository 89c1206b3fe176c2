"""trading: projects, lots, notices, tender documents, amendments, objections, the procedure table,
the lot lifecycle and the public portal (DESIGN §4).

Rooms: ``procedures`` (the table, pure), ``fsm`` (the lifecycle, pure), ``models``, ``schemas``,
``services`` (the rules), ``api`` / ``views`` (thin), ``tasks`` (scheduler-driven closing), ``demo``.
"""
import logging

logger = logging.getLogger(__name__)
