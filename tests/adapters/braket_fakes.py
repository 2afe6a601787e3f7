"""The Amazon Braket service at the SDK's boundary: botocore Stubbers on the AwsSession's clients.

The adapter runs unchanged (AwsDevice, AwsQuantumTask, AwsSession); only the HTTP answers are
scripted. Results are computed from the exact `action` the adapter sent, by Braket's own
simulator, so a wrong payload gives wrong marginals.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import boto3
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from braket.aws import AwsSession
from braket.default_simulator import StateVectorSimulator
from braket.schema_common import BraketSchemaBase

REGION = "eu-north-1"
GARNET_ARN = f"arn:aws:braket:{REGION}::device/qpu/iqm/Garnet"
BUCKET = "qhil-test-results"
CREATED = datetime(2026, 11, 22, 4, 0, 0, tzinfo=timezone.utc)
ENDED = datetime(2026, 11, 22, 4, 0, 7, tzinfo=timezone.utc)


def garnet_capabilities(max_executables: int = 500, max_total_shots: int = 1_000_000,
                        program_sets: bool = True) -> str:
    """IQM Garnet-shaped capabilities (limits as in amazon-braket-schemas' IQM test fixture)."""
    action = {"braket.ir.openqasm.program": {
        "actionType": "braket.ir.openqasm.program", "version": ["1"],
        "supportedOperations": ["rx", "ry", "cz", "prx"], "supportedResultTypes": []}}
    if program_sets:
        action["braket.ir.openqasm.program_set"] = {
            "actionType": "braket.ir.openqasm.program_set", "version": ["1"],
            "maximumExecutables": max_executables, "maximumTotalShots": max_total_shots}
    return json.dumps({
        "braketSchemaHeader": {"name": "braket.device_schema.iqm.iqm_device_capabilities",
                               "version": "1"},
        "service": {"braketSchemaHeader": {"name": "braket.device_schema.device_service_properties",
                                           "version": "1"},
                    "executionWindows": [{"executionDay": "Everyday", "windowStartHour": "00:00",
                                          "windowEndHour": "23:59:59"}],
                    "shotsRange": [1, 20000]},
        "action": action,
        "deviceParameters": {},
        "paradigm": {"braketSchemaHeader": {
            "name": "braket.device_schema.gate_model_qpu_paradigm_properties", "version": "1"},
            "qubitCount": 20, "nativeGateSet": ["cz", "prx"],
            "connectivity": {"fullyConnected": False, "connectivityGraph": {"1": ["2", "4"]}}},
    })


def arn_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class FakeBraket:
    """Scripted Braket + S3 answers for one AwsSession and one device (`arn`, in REGION);
    `sent` holds every CreateQuantumTask call."""

    def __init__(self, arn: str = GARNET_ARN):
        self.arn = arn
        boto = boto3.Session(aws_access_key_id="AKIATESTING", aws_secret_access_key="testing",
                             region_name=REGION)
        self.session = AwsSession(boto_session=boto, braket_client=boto.client("braket", region_name=REGION))
        self.braket = Stubber(self.session.braket_client)
        # AwsSession reads results through boto_session.resource("s3"): hand it one stubbed resource.
        s3_resource = boto.resource("s3", region_name=REGION)
        boto.resource = lambda *args, **kwargs: s3_resource
        self.s3 = Stubber(s3_resource.meta.client)
        self.sent: list[dict] = []
        self.session.braket_client.meta.events.register(
            "provide-client-params.braket.CreateQuantumTask", self._capture)
        self.braket.activate()
        self.s3.activate()

    def _capture(self, params, **_):
        self.sent.append(dict(params))

    def task_arn(self, index: int) -> str:
        return f"arn:aws:braket:{REGION}:123456789012:quantum-task/task-{index}"

    def device(self, status: str = "ONLINE", **caps) -> None:
        self.braket.add_response("get_device", {
            "deviceArn": self.arn, "deviceName": arn_name(self.arn), "providerName": "IQM",
            "deviceType": "QPU", "deviceStatus": status,
            "deviceCapabilities": garnet_capabilities(**caps)}, {"deviceArn": self.arn})

    def create(self, index: int) -> None:
        expected = {"deviceArn": self.arn, "action": ANY, "shots": ANY, "tags": ANY,
                    "outputS3Bucket": BUCKET, "outputS3KeyPrefix": "qhil"}
        self.braket.add_response("create_quantum_task", {"quantumTaskArn": self.task_arn(index)},
                                 expected)

    def create_error(self, code: str, status: int, message: str = "scripted") -> None:
        self.braket.add_client_error("create_quantum_task", service_error_code=code,
                                     service_message=message, http_status_code=status)

    def state(self, index: int, status: str, reason: str | None = None, ended: bool = True,
              action: str = "braket.ir.openqasm.program_set") -> None:
        meta = {"quantumTaskArn": self.task_arn(index), "status": status, "deviceArn": self.arn,
                "deviceParameters": "{}", "shots": 100, "outputS3Bucket": BUCKET,
                "outputS3Directory": f"qhil/task-{index}", "createdAt": CREATED,
                "actionMetadata": {"actionType": action},
                "queueInfo": {"queue": "QUANTUM_TASKS_QUEUE", "position": "3",
                              "queuePriority": "Normal"}}
        if ended:
            meta["endedAt"] = ENDED
        if reason:
            meta["failureReason"] = reason
        self.braket.add_response("get_quantum_task", meta, {
            "quantumTaskArn": self.task_arn(index), "additionalAttributeNames": ANY})

    def results(self, index: int, sent_index: int | None = None) -> None:
        """results.json of task `index`, simulated from the action of CreateQuantumTask `sent_index`."""
        params = self.sent[index if sent_index is None else sent_index]
        program = BraketSchemaBase.parse_raw_schema(params["action"])
        result = StateVectorSimulator().run(program, shots=params["shots"])
        body = result.json().encode()
        self.s3.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))},
                             {"Bucket": BUCKET, "Key": f"qhil/task-{index}/results.json"})

    def search(self, found: list[tuple[int, str, dict]]) -> None:
        """SearchQuantumTasks answering (task index, status, tags) summaries."""
        tasks = [{"quantumTaskArn": self.task_arn(i), "status": status, "deviceArn": self.arn,
                  "shots": 100, "outputS3Bucket": BUCKET, "outputS3Directory": f"qhil/task-{i}",
                  "createdAt": CREATED, "tags": tags} for i, status, tags in found]
        self.braket.add_response("search_quantum_tasks", {"quantumTasks": tasks}, {"filters": ANY})

    def cancel(self, index: int) -> None:
        self.braket.add_response("cancel_quantum_task", {
            "quantumTaskArn": self.task_arn(index), "cancellationStatus": "CANCELLING"},
            {"quantumTaskArn": self.task_arn(index)})

    def finished(self) -> None:
        self.braket.assert_no_pending_responses()
        self.s3.assert_no_pending_responses()
