"""Archive JSON API (``/api/archive``): find records, read one with its proof, verify, export,
legal hold, checkpoints and consistency proofs.  Thin: parse, check, one service call, serialise.
"""
from __future__ import annotations

import io

from flask import g, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from archive import bag, services
from archive import schemas as s
from archive.models import ArchiveRecord
from archive.permissions import OPERATIONS  # noqa: F401  (declares the operations)
from archive.services import inspect
from core.errors import ValidationFailed
from core.events import commit
from core.permissions import PARAM_MODELS, permission

blp = Blueprint("archive", __name__, url_prefix="/api/archive",
                description="Signed records, Merkle log, checkpoints and verification bundles")
PARAM_MODELS["record_id"] = ArchiveRecord
TAR = {"200": {"description": "a BagIt bag as a tar file", "content": {"application/x-tar": {}}}}


@blp.route("/records")
class Records(MethodView):
    @permission("archive.records.list")
    @blp.arguments(s.RecordQuerySchema, location="query")
    @blp.response(200, s.RecordSchema(many=True))
    def get(self, query):
        """Records by lot, party (org:<id>), event type, chain and event time, newest first."""
        return services.search(**query)


@blp.route("/records/<int:record_id>")
class RecordItem(MethodView):
    @permission("archive.records.read")
    @blp.arguments(s.ProofQuerySchema, location="query")
    @blp.response(200, s.RecordDetailSchema)
    def get(self, query, record_id):
        """The signed record, its inclusion proof and the checkpoint (newest, or of ``tree_size``)."""
        return inspect.record_detail(services.get_record(record_id), query["tree_size"])


@blp.route("/records/<int:record_id>/verify")
class RecordVerify(MethodView):
    @permission("archive.records.verify")
    @blp.response(200, s.VerifyReportSchema)
    def get(self, record_id):
        """Run the offline verifier's checks on this record's bundle."""
        return inspect.verify_record(services.get_record(record_id))


@blp.route("/records/<int:record_id>/bundle")
class RecordBundle(MethodView):
    @permission("archive.records.export")
    @blp.doc(responses=TAR)
    def get(self, record_id):
        """The verification bundle of one record (BagIt, tar)."""
        record = services.get_record(record_id)
        return _tar(services.build_bundle(record=record), f"record-{record.leaf_index}")


@blp.route("/bundle")
class ChainBundle(MethodView):
    @permission("archive.records.export")
    @blp.arguments(s.BundleQuerySchema, location="query")
    @blp.doc(responses=TAR)
    def get(self, query):
        """The verification bundle of a lot (``lot_id``) or a chain, up to the newest checkpoint."""
        chain = query["chain"] or (f"lot:{query['lot_id']}" if query["lot_id"] else None)
        if chain is None:
            raise ValidationFailed("give lot_id or chain", code="missing_scope")
        services.check_disclosable(chain)
        return _tar(services.build_bundle(chain=chain), chain.replace(":", "-"))


def _tar(files: dict[str, bytes], name: str):
    buffer = io.BytesIO()
    bag.write_tar(files, buffer, top=name)
    buffer.seek(0)
    return send_file(buffer, mimetype="application/x-tar", as_attachment=True, download_name=f"{name}.tar")


@blp.route("/records/<int:record_id>/legal-hold")
class RecordHold(MethodView):
    @permission("archive.records.hold")
    @blp.arguments(s.LegalHoldSchema)
    @blp.response(200, s.SegmentSchema)
    def post(self, data, record_id):
        """Set or release the legal hold on the stored segment holding this record."""
        seg = services.set_legal_hold(record=services.get_record(record_id), on=data["on"],
                                      reason=data["reason"], actor=g.user)
        commit()
        return seg


@blp.route("/checkpoints/latest")
class LatestCheckpoint(MethodView):
    @permission("archive.log.read")
    @blp.response(200)
    def get(self):
        """The newest signed checkpoint (tree size, root, time, key id, signature)."""
        import json

        cp = services.latest_checkpoint()
        if cp is None:
            raise ValidationFailed("the log is empty", code="log_empty", status=404)
        return json.loads(cp.document)


@blp.route("/proofs/consistency")
class Consistency(MethodView):
    @permission("archive.log.read")
    @blp.arguments(s.ConsistencyQuerySchema, location="query")
    @blp.response(200, s.ConsistencySchema)
    def get(self, query):
        """RFC 9162 consistency proof between two tree sizes (``second`` defaults to the newest)."""
        return inspect.consistency_detail(query["first"], query["second"])


@blp.route("/trust")
class TrustAnchors(MethodView):
    @permission("archive.log.read")
    @blp.response(200)
    def get(self):
        """TRUST.json for ``ggzy archive verify`` (pin it out of band; compare before trusting)."""
        return services.trust_document()
