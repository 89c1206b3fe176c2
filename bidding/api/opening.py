"""Opening-hall API (不见面开标): the hall's state and live stream, sign-in, the host's steps,
unsealing, the remedy, and the opening record with confirmations and objections.

Routes on the bidding blueprint (bidding/api/blueprint.py).  Thin: parse, one
service call, commit, serialise.
"""
from __future__ import annotations

from flask import Response, current_app, g, request, stream_with_context
from flask.views import MethodView

from bidding import schemas as s
from bidding.api.blueprint import blp
from bidding.models import RecordResponse
from bidding.services import hall, record, unsealing
from bidding.services.live import event_stream
from core.db import db
from core.errors import ValidationFailed
from core.events import commit
from core.permissions import PARAM_MODELS, permission

PARAM_MODELS["response_id"] = RecordResponse


@blp.route("/lots/<int:lot_id>/opening")
class Hall(MethodView):
    @permission("bidding.hall.read")
    @blp.response(200, s.HallSchema)
    def get(self, lot_id):
        """The hall as you may see it: stage, times, each bidder's status (the stream's fallback)."""
        return hall.snapshot(lot_id=lot_id, user=g.user)


@blp.route("/lots/<int:lot_id>/opening/events")
class HallEvents(MethodView):
    @permission("bidding.hall.stream")
    @blp.doc(responses={200: {"description": "text/event-stream: an ``hall`` event with the hall document "
                                             "on every change; the stream ends after a while and the "
                                             "browser reconnects"}})
    def get(self, lot_id):
        """Live hall status as server-sent events (EventSource); poll ``GET …/opening`` without it."""
        hall.session_of(lot_id)  # 404 before the opening, not an empty stream
        seconds = float(current_app.config.get("GGZY_SSE_MAX_SECONDS", 55))
        gen = event_stream(lot_id, role=g.user.role, organisation_id=g.user.organisation_id, max_seconds=seconds)
        return Response(stream_with_context(gen), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@blp.route("/lots/<int:lot_id>/opening/attendance")
class HallSignIn(MethodView):
    @permission("bidding.hall.sign_in")
    @blp.arguments(s.SignInSchema)
    @blp.response(201, s.HallSchema)
    def post(self, body, lot_id):
        """Sign in to the hall (recorded: bidder, key, IP, time — 电子招标投标办法 第二十九条)."""
        hall.sign_in(lot_id=lot_id, user=g.user, key_id=body["key_id"], ip=request.remote_addr or "")
        commit()
        return hall.snapshot(lot_id=lot_id, user=g.user)


def _host_step(step, lot_id):
    step(lot_id=lot_id, actor=g.user)
    commit()
    return hall.snapshot(lot_id=lot_id, user=g.user)


@blp.route("/lots/<int:lot_id>/opening/bidder-list")
class HallList(MethodView):
    @permission("bidding.hall.list")
    @blp.response(200, s.HallSchema)
    def post(self, lot_id):
        """Host: publish the bidders who submitted in time and their bond status."""
        return _host_step(hall.publish_list, lot_id)


@blp.route("/lots/<int:lot_id>/opening/window")
class HallWindow(MethodView):
    @permission("bidding.hall.window")
    @blp.response(200, s.HallSchema)
    def post(self, lot_id):
        """Host: open the unseal window for the tender's ``decrypt_window_minutes``."""
        return _host_step(hall.open_window, lot_id)


@blp.route("/lots/<int:lot_id>/opening/close")
class HallClose(MethodView):
    @permission("bidding.hall.close")
    @blp.response(200, s.HallSchema)
    def post(self, lot_id):
        """Host: close the window early once no bid is pending; the opening table is published."""
        return _host_step(hall.close_window, lot_id)


@blp.route("/lots/<int:lot_id>/opening/unseal")
class HallUnseal(MethodView):
    @permission("bidding.hall.unseal")
    @blp.arguments(s.UnsealSchema)
    @blp.response(200, s.UnsealingSchema)
    def post(self, body, lot_id):
        """Unseal your bid with its data key; a failure is reported here and you may retry in the window."""
        row = unsealing.unseal_with_key(lot_id=lot_id, user=g.user, data_key_b64=body["data_key"])
        commit()
        return row


@blp.route("/lots/<int:lot_id>/opening/remedy")
class HallRemedy(MethodView):
    @permission("bidding.hall.remedy")
    @blp.arguments(s.RemedyShareSchema)
    @blp.response(200, s.RemedyResultSchema)
    def post(self, body, lot_id):
        """Custodian: your decrypted share, where the tender has a remedy plan; the second share
        rebuilds the opening key in memory and unseals the bids not yet unsealed (第三十一条)."""
        result = unsealing.submit_remedy_share(lot_id=lot_id, user=g.user, share_json=body["share"])
        commit()
        if result.get("error"):  # the shares were dropped (and that is committed): send them again
            raise ValidationFailed(f"the shares do not rebuild this lot's opening key: {result['error']}; "
                                   "both custodians must send their shares again", code="remedy_shares_rejected",
                                   rule=unsealing.RULE_FAILURE)
        return result


@blp.route("/lots/<int:lot_id>/opening-record")
class Record(MethodView):
    @permission("bidding.record.read")
    @blp.arguments(s.RecordQuerySchema, location="query")
    @blp.response(200, s.OpeningRecordSchema)
    def get(self, query, lot_id):
        """The signed opening record (public): the final one if closed, else the opening table."""
        return record.record_of(lot_id, query["kind"])


@blp.route("/lots/<int:lot_id>/opening-record/confirmations")
class RecordConfirm(MethodView):
    @permission("bidding.record.confirm")
    @blp.arguments(s.OpeningConfirmSchema)
    @blp.response(201, s.RecordResponseSchema)
    def post(self, body, lot_id):
        """Confirm the opening table: your organisation's key signs its digest (``ggzy bid confirm-record``)."""
        row = record.confirm(lot_id=lot_id, user=g.user, key_id=body["key_id"], signature_b64=body["signature"])
        commit()
        return row


@blp.route("/lots/<int:lot_id>/opening-record/objections")
class RecordObject(MethodView):
    @permission("bidding.record.object")
    @blp.arguments(s.OpeningObjectionSchema)
    @blp.response(201, s.RecordResponseSchema)
    def post(self, body, lot_id):
        """Object to the opening on the spot (招标投标法实施条例 第四十四条); the host answers."""
        row = record.object_to(lot_id=lot_id, user=g.user, text=body["text"])
        commit()
        return row


@blp.route("/opening-responses/<int:response_id>/answer")
class RecordAnswer(MethodView):
    @permission("bidding.record.answer")
    @blp.arguments(s.OpeningAnswerSchema)
    @blp.response(200, s.RecordResponseSchema)
    def post(self, body, response_id):
        """Host: answer an objection on the spot; the answer goes into the record."""
        row = record.answer(response=db.session.get(RecordResponse, response_id), actor=g.user,
                            text=body["answer"])
        commit()
        return row


@blp.route("/lots/<int:lot_id>/opening-record/finish")
class RecordFinish(MethodView):
    @permission("bidding.record.finish")
    @blp.response(200, s.OpeningRecordSchema)
    def post(self, lot_id):
        """Host: close the record now that every bidder confirmed (otherwise the window's end does it)."""
        row = record.finish(lot_id=lot_id, actor=g.user)
        commit()
        return row if row is not None else record.record_of(lot_id)
