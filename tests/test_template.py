"""template.yaml: cfn-lint (and sam validate --lint, where SAM CLI is installed) clean, least privilege checked by
reading the template itself, and what a SAM user gets: the layer built by `sam build`, a managed policy and
exports for their own functions, an HTTP example, a watched refresher.

The template is parsed with a SafeLoader that turns CloudFormation's short-form tags (!Ref, !Sub, !If...)
into their long form. Every ``Fn::If`` is followed down both branches, so what is checked holds for every
choice of SnapshotStore / SpillStore / key parameters. Patterns the policies grant (S3 prefixes, DynamoDB
LeadingKeys) are checked against the keys the SDK's own spill stores and snapshot writer produce.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML comes with cfn-lint (the dev extra)")

from statsig_lite import constants as c  # noqa: E402
from statsig_lite.buffer import make_batch  # noqa: E402
from statsig_lite.options import resolve_options  # noqa: E402
from statsig_lite.sinks import open_spill_store  # noqa: E402
from statsig_lite.sinks.base import SpillRecord  # noqa: E402
from statsig_lite.sources.dynamodb import build_items  # noqa: E402
from statsig_lite.sources.uri import parse_spec_source  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"
SAM = "AWS::Serverless-2016-10-31"
NO_VALUE = {"Ref": "AWS::NoValue"}
ACCESS_POLICY = "StatsigLiteAccessPolicy"

# ---------------------------------------------------------------------------------------------- loading


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form tags (``!Ref x`` -> ``{"Ref": "x"}``)."""


def _short_form(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if name == "Ref":
            return {"Ref": value}
        if name == "Condition":
            return {"Condition": value}
        if name == "GetAtt" and isinstance(value, str):
            return {"Fn::GetAtt": value.split(".", 1)}
        return {f"Fn::{name}": value}

    return construct


SHORT_FORMS = "Ref Condition Sub GetAtt If Equals Not And Or Join Select Split FindInMap Base64 Cidr ImportValue"
SHORT_FORMS += " GetAZs Length ToJsonString"
for _tag in SHORT_FORMS.split():
    CloudFormationLoader.add_constructor(f"!{_tag}", _short_form(_tag))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CloudFormationLoader)
    assert isinstance(loaded, dict)
    return loaded


def load_build_module() -> Any:
    spec = importlib.util.spec_from_file_location("layer_build", REPO / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["layer_build"] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------- helpers


def branches(value: Any) -> Iterator[Any]:
    """Every concrete value ``value`` can take: both sides of each Fn::If, AWS::NoValue dropped."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, yes, no = value["Fn::If"]
        yield from branches(yes)
        yield from branches(no)
    elif value != NO_VALUE:
        yield value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in as_list(document["Statement"]):
        found.extend(branches(item))
    return found


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """What the role may do: its inline policies and the stack's own managed policy (no AWS managed policy)."""
    resource = template["Resources"][role]
    assert resource["Type"] == "AWS::IAM::Role"
    managed = resource["Properties"].get("ManagedPolicyArns", [])
    assert managed in ([], [{"Ref": ACCESS_POLICY}]), f"{role}: only the stack's {ACCESS_POLICY} may be attached"
    found = []
    for policy in resource["Properties"]["Policies"]:
        found.extend(statements(policy["PolicyDocument"]))
    if managed:
        found.extend(statements(template["Resources"][ACCESS_POLICY]["Properties"]["PolicyDocument"]))
    return found


def all_policy_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                found.extend((name, s) for s in statements(policy["PolicyDocument"]))
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"):
            found.extend((name, s) for s in statements(props["PolicyDocument"]))
    return found


def sub_text(value: Any) -> str | None:
    """The template string of an ``Fn::Sub`` (either form), else None."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def render(value: Any, names: dict[str, str]) -> str:
    """A string value (literal, Ref or Sub) with ``${X}`` / Ref replaced from ``names``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return names[value["Ref"]]
    text = sub_text(value)
    assert text is not None, f"cannot render {value!r}"
    return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text)


def sub_refs(text: str) -> list[str]:
    return re.findall(r"\$\{([^}]+)\}", text)


def actions(statement: dict[str, Any]) -> set[str]:
    return set(as_list(statement["Action"]))


def resources(statement: dict[str, Any]) -> list[Any]:
    return as_list(statement["Resource"])


def allows(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for s in role_statements(template, role) if s["Effect"] == "Allow"]


def granted(template: dict[str, Any], role: str, action: str) -> list[dict[str, Any]]:
    return [s for s in allows(template, role) if action in actions(s)]


def example_names(template: dict[str, Any]) -> dict[str, str]:
    """Stand-in values for everything a Sub may name: parameter defaults and made-up physical names."""
    names = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    names.update(
        {
            "Bucket": "statsig-lite-bucket-0123",
            "Bucket.Arn": "arn:aws:s3:::statsig-lite-bucket-0123",
            "Table": "statsig-lite-Table-0123",
            "Table.Arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/statsig-lite-Table-0123",
            "AWS::Partition": "aws",
            "AWS::Region": "eu-west-1",
            "AWS::AccountId": "123456789012",
            "AWS::StackName": "statsig-lite",
        }
    )
    return names


def leading_keys(statement: dict[str, Any]) -> list[Any]:
    condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
    return as_list(condition.get("dynamodb:LeadingKeys", []))


# ---------------------------------------------------------------------------------------------- cfn-lint


def cfn_lint_command() -> list[str]:
    executable = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    if executable:
        return [executable]
    if importlib.util.find_spec("cfnlint") is None:
        pytest.skip("cfn-lint is not installed (pip install -e '.[dev]')")
    return [sys.executable, "-m", "cfnlint"]



# ---------------------------------------------------------------------------------------------- linters


def test_cfn_lint_reports_nothing() -> None:
    # --include-checks I: informational findings count too.
    done = subprocess.run(
        [*cfn_lint_command(), "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    findings = (done.stdout + done.stderr).strip()
    print(f"cfn-lint exit {done.returncode}, {len(findings.splitlines())} lines of findings")
    assert done.returncode == 0 and findings == "", findings


def test_sam_validate_lint_where_sam_cli_is_installed() -> None:
    """SAM CLI is not a dev dependency (it pins its own boto3 and friends); where `sam` is on PATH, it agrees."""
    sam = shutil.which("sam")
    if sam is None:
        pytest.skip("SAM CLI not installed (pip install aws-sam-cli, in its own venv)")
    done = subprocess.run(
        [sam, "validate", "--lint", "--template-file", str(TEMPLATE)],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"},
    )  # fmt: skip
    assert done.returncode == 0 and "is a valid SAM Template" in done.stdout, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------- IAM

FUNCTION_ROLES = {
    "RefresherFunction": "RefresherRole",
    "ExampleFunction": "ExampleFunctionRole",
    "ExampleHttpFunction": "ExampleFunctionRole",
}


def test_is_a_sam_template_whose_functions_use_explicit_roles(template: dict[str, Any]) -> None:
    assert template["Transform"] == SAM
    functions = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == set(FUNCTION_ROLES)
    for name, function in functions.items():
        props = function["Properties"]
        # A SAM-made role would carry AWSLambdaBasicExecutionRole (log actions on "*") and policy templates.
        assert "Policies" not in props, f"{name}: use the explicit role"
        assert props["Role"] == {"Fn::GetAtt": [FUNCTION_ROLES[name], "Arn"]}
    assert "Policies" not in template.get("Globals", {}).get("Function", {})


def test_no_allow_statement_has_a_wildcard_action(template: dict[str, Any]) -> None:
    checked = 0
    for owner, statement in all_policy_statements(template):
        assert "NotAction" not in statement and "NotResource" not in statement, (owner, statement)
        if statement["Effect"] != "Allow":
            continue
        for action in actions(statement):
            assert "*" not in action, f"{owner}: {statement.get('Sid')} allows {action!r}"
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), action
        assert statement.get("Principal") != "*", (owner, statement)
        checked += 1
    assert checked >= 14


SECRETS_MANAGER_SUFFIX = "-??????"  # the 6 random characters Secrets Manager appends to a secret's name


def _scoped(resource: Any, template: dict[str, Any]) -> bool:
    """A resource names one thing the stack made or a parameter names (no account-wide wildcard)."""
    if isinstance(resource, str):
        return "*" not in resource and "?" not in resource
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0] in template["Resources"]
    if isinstance(resource, dict) and "Ref" in resource:
        parameter = template["Parameters"].get(resource["Ref"])
        # a parameter used as an ARN must not be able to hold a wildcard
        return parameter is not None and re.fullmatch(parameter["AllowedPattern"], "*") is None
    text = sub_text(resource)
    if text is None:
        return False
    named = [r for r in sub_refs(text) if not r.startswith("AWS::")]
    if not named:
        return False
    if text.endswith("${SecretsManagerSecretName}" + SECRETS_MANAGER_SUFFIX):
        text = text.removesuffix(SECRETS_MANAGER_SUFFIX)
    if "?" in text:
        return False
    if "*" not in text:
        return True
    # objects under a prefix: "<resource>/<prefix>/*", never "<bucket ARN>/*"
    return text.count("*") == 1 and text.endswith("/*") and not text[:-2].endswith(".Arn}")


def test_every_allowed_resource_is_scoped(template: dict[str, Any]) -> None:
    for owner, statement in all_policy_statements(template):
        if statement["Effect"] != "Allow":
            continue
        for resource in resources(statement):
            for concrete in branches(resource):
                assert _scoped(concrete, template), f"{owner}: {statement.get('Sid')} on {concrete!r}"


def test_parameters_inside_arns_cannot_widen_them(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    used: set[str] = set()
    for _, statement in all_policy_statements(template):
        for value in [*resources(statement), *leading_keys(statement), *s3_prefixes(statement)]:
            for concrete in branches(value):
                text = sub_text(concrete)
                if text is not None:
                    used.update(r for r in sub_refs(text) if r in params)
                if isinstance(concrete, dict) and concrete.get("Ref") in params:
                    used.add(concrete["Ref"])
    assert {"SecretParameterName", "SecretsManagerSecretName", "SnapshotKey", "SpillPrefix"} <= used
    for name in used:
        pattern = params[name].get("AllowedPattern")
        assert pattern, f"{name} goes into an ARN or key condition: it needs an AllowedPattern"
        for widening in ("*", "a*", "?", "a?", "a/*", "a#b"):
            assert re.fullmatch(pattern, widening) is None, f"{name} accepts {widening!r}"


def s3_prefixes(statement: dict[str, Any]) -> list[Any]:
    condition = statement.get("Condition", {})
    return [v for test in condition.values() if isinstance(test, dict) for k, v in test.items() if k == "s3:prefix"]


def test_bucket_policy_denies_plain_http_only(template: dict[str, Any]) -> None:
    policy = template["Resources"]["BucketPolicy"]
    assert policy["Properties"]["Bucket"] == {"Ref": "Bucket"}
    found = statements(policy["Properties"]["PolicyDocument"])
    assert all(s["Effect"] == "Deny" for s in found), "the bucket policy only denies"
    (deny,) = found
    # Principal "*" / Action "s3:*" are required for a Deny to cover every caller and action.
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert resources(deny) == [{"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::Sub": "${Bucket.Arn}/*"}]


SNAPSHOT_OBJECT = "${Bucket.Arn}/${SnapshotKey}"
SPILL_OBJECTS = "${Bucket.Arn}/${SpillPrefix}/*"
PARAMETER_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SecretParameterName}"
SECRET_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsManagerSecretName}-??????"
)
# decisions.md: the table's key is pk + sk; readers GetItem + Query/BatchGetItem one partition, the spill is
# listed by Query, claimed by UpdateItem; never a Scan
SNAPSHOT_READ = {"dynamodb:GetItem", "dynamodb:Query"}
SNAPSHOT_WRITE = SNAPSHOT_READ | {"dynamodb:PutItem", "dynamodb:DeleteItem"}
SPILL_ITEMS = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:BatchWriteItem"}  # fmt: skip
SNAPSHOT_KEYS = [{"Ref": "SnapshotKey"}, {"Fn::Sub": "${SnapshotKey}#*"}]
SPILL_KEYS = [{"Ref": "SpillPrefix"}, {"Fn::Sub": "${SpillPrefix}#*"}]


def access_policy(template: dict[str, Any]) -> list[dict[str, Any]]:
    resource = template["Resources"][ACCESS_POLICY]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    return statements(resource["Properties"]["PolicyDocument"])


def by_sid(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for statement in found:
        grouped.setdefault(statement["Sid"], []).append(statement)
    return grouped


def test_access_policy_reads_the_snapshot_writes_the_spill_and_reads_the_secret(template: dict[str, Any]) -> None:
    grants = by_sid(access_policy(template))
    assert set(grants) == {"ServerSecret", "DecryptServerSecret", "ReadSnapshotObject", "ReadSnapshotItems",
                           "SpillObjects", "ListSpilledObjects", "SpillItems"}  # fmt: skip
    assert all(s["Effect"] == "Allow" for found in grants.values() for s in found)
    # the secret: SSM, or Secrets Manager when a secret name is given (one of the two per deployment)
    secrets, ssm = sorted(grants["ServerSecret"], key=lambda s: str(s["Action"]))
    assert (ssm["Action"], resources(ssm)) == ("ssm:GetParameter", [{"Fn::Sub": PARAMETER_ARN}])
    assert (secrets["Action"], resources(secrets)) == ("secretsmanager:GetSecretValue", [{"Fn::Sub": SECRET_ARN}])
    raw = template["Resources"][ACCESS_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    (secret_if,) = [s["Fn::If"] for s in raw if "Fn::If" in s and s["Fn::If"][1].get("Sid") == "ServerSecret"]
    assert secret_if[0] == "UseSecretsManager" and secret_if[1]["Action"] == "secretsmanager:GetSecretValue"
    (kms,) = grants["DecryptServerSecret"]
    assert resources(kms) == [{"Ref": "SecretKmsKeyArn"}] and kms["Action"] == "kms:Decrypt"
    via = kms["Condition"]["StringEquals"]["kms:ViaService"]
    services = [render(v, example_names(template)) for v in branches(via)]
    assert services == ["secretsmanager.eu-west-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"]
    # the snapshot: read one key, never write it
    (s3_read,) = grants["ReadSnapshotObject"]
    assert s3_read["Action"] == "s3:GetObject" and resources(s3_read) == [{"Fn::Sub": SNAPSHOT_OBJECT}]
    (ddb_read,) = grants["ReadSnapshotItems"]
    assert actions(ddb_read) == SNAPSHOT_READ and leading_keys(ddb_read) == SNAPSHOT_KEYS
    # the spill: objects under the prefix, listing only with the prefix, items of its partitions
    (objects,) = grants["SpillObjects"]
    assert actions(objects) == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}
    assert resources(objects) == [{"Fn::Sub": SPILL_OBJECTS}]
    (listing,) = grants["ListSpilledObjects"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${SpillPrefix}/*"}}}
    (items,) = grants["SpillItems"]
    assert actions(items) == SPILL_ITEMS and leading_keys(items) == SPILL_KEYS


def _own_log_group(template: dict[str, Any], role: str, log_group: str) -> None:
    (logs,) = granted(template, role, "logs:PutLogEvents")
    assert actions(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert resources(logs) == [{"Fn::GetAtt": [log_group, "Arn"]}]
    for function, uses in FUNCTION_ROLES.items():
        if uses == role:
            props = template["Resources"][function]["Properties"]
            assert props["LoggingConfig"]["LogGroup"] == {"Ref": log_group}


def test_example_role_is_the_access_policy_and_its_log_group(template: dict[str, Any]) -> None:
    role = "ExampleFunctionRole"
    _own_log_group(template, role, "ExampleLogGroup")
    inline = [s for p in template["Resources"][role]["Properties"]["Policies"] for s in statements(p["PolicyDocument"])]
    assert [s["Sid"] for s in inline] == ["OwnLogGroup"]
    assert template["Resources"][role]["Properties"]["ManagedPolicyArns"] == [{"Ref": ACCESS_POLICY}]


def test_refresher_role_adds_only_snapshot_writes_and_its_failure_queue(template: dict[str, Any]) -> None:
    role = "RefresherRole"
    _own_log_group(template, role, "RefresherLogGroup")
    inline = by_sid(
        [s for p in template["Resources"][role]["Properties"]["Policies"] for s in statements(p["PolicyDocument"])]
    )
    assert set(inline) == {"OwnLogGroup", "FailureDestination", "WriteSnapshotObject", "ListSnapshotKey",
                           "WriteSnapshotItems"}  # fmt: skip
    (queue,) = inline["FailureDestination"]
    assert queue["Action"] == "sqs:SendMessage" and resources(queue) == [{"Fn::GetAtt": ["RefresherFailures", "Arn"]}]
    (write,) = inline["WriteSnapshotObject"]
    assert actions(write) == {"s3:GetObject", "s3:PutObject"} and resources(write) == [{"Fn::Sub": SNAPSHOT_OBJECT}]
    (listing,) = inline["ListSnapshotKey"]
    assert listing["Condition"] == {"StringEquals": {"s3:prefix": {"Ref": "SnapshotKey"}}}
    (items,) = inline["WriteSnapshotItems"]
    assert actions(items) == SNAPSHOT_WRITE and leading_keys(items) == SNAPSHOT_KEYS


def test_no_scan_and_every_listing_is_narrowed(template: dict[str, Any]) -> None:
    """Issue 12 item 10: no Scan on the table; s3:ListBucket only with an s3:prefix condition; every DynamoDB
    grant is held to the snapshot key's or the spill prefix's partitions."""
    found = all_policy_statements(template)
    assert found
    for owner, statement in found:
        if statement["Effect"] != "Allow":
            continue
        assert "dynamodb:Scan" not in actions(statement), (owner, statement.get("Sid"))
        if "s3:ListBucket" in actions(statement):
            assert actions(statement) == {"s3:ListBucket"} and s3_prefixes(statement), (owner, statement.get("Sid"))
        if any(a.startswith("dynamodb:") for a in actions(statement)):
            assert resources(statement) == [{"Fn::GetAtt": ["Table", "Arn"]}]
            assert leading_keys(statement) in (SNAPSHOT_KEYS, SPILL_KEYS), (owner, statement.get("Sid"))


def test_granted_key_patterns_match_what_the_sdk_writes(template: dict[str, Any]) -> None:
    """The S3 prefix and DynamoDB LeadingKeys patterns cover the keys the SDK's stores really use."""
    names = example_names(template)
    prefix, key = names["SpillPrefix"], names["SnapshotKey"]

    class Recorder:
        def __init__(self) -> None:
            self.keys: list[str] = []

        def put_object(self, **kwargs: Any) -> dict[str, Any]:
            self.keys.append(kwargs["Key"])
            return {}

        def put_item(self, **kwargs: Any) -> dict[str, Any]:
            self.keys.append(kwargs["Item"]["pk"]["S"])
            return {}

    batch = make_batch([b'{"eventName":"e"}'], b"{}", 1_700_000_000_000)
    record = SpillRecord.new([batch], b"{}", 1_700_000_000_000)
    s3_client, ddb_client = Recorder(), Recorder()
    s3_target = render({"Fn::Sub": "s3://${Bucket}/${SpillPrefix}"}, names)
    ddb_target = render({"Fn::Sub": "dynamodb://${Table}/${SpillPrefix}"}, names)
    open_spill_store(s3_target, s3_client=s3_client).write(record)
    open_spill_store(ddb_target, dynamodb_client=ddb_client).write(record)
    (s3_key,) = s3_client.keys
    ddb_keys = ddb_client.keys
    assert fnmatch.fnmatchcase(s3_key, f"{prefix}/*") and s3_key.startswith(f"{prefix}/")
    spill_patterns = [render(p, names) for p in SPILL_KEYS]
    for pk in ddb_keys:
        assert any(fnmatch.fnmatchcase(pk, p) for p in spill_patterns), (pk, spill_patterns)
    lifecycle = template["Resources"]["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert s3_key.startswith(render(lifecycle["Prefix"], names))

    snapshot = random.Random(6).randbytes(5_000)  # incompressible: gzip'd it still needs several chunks
    chunks, main = build_items(key, snapshot, "v1", chunk_bytes=1_000)
    chunked = [item["pk"]["S"] for item in [*chunks, main]]
    assert len(chunked) > 2
    snapshot_patterns = [render(p, names) for p in SNAPSHOT_KEYS]
    for pk in chunked:
        assert any(fnmatch.fnmatchcase(pk, p) for p in snapshot_patterns), (pk, snapshot_patterns)
    for pk in ddb_keys:
        assert not any(fnmatch.fnmatchcase(pk, p) for p in snapshot_patterns), "snapshot grants reach spill items"


# ---------------------------------------------------------------------------------------------- resources


def test_bucket_is_encrypted_private_versioned_and_expires_the_spill(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["Bucket"]
    props = bucket["Properties"]
    assert bucket["Condition"] == "CreateBucket"
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    spill_rule = props["LifecycleConfiguration"]["Rules"][0]
    assert spill_rule["Status"] == "Enabled"
    assert spill_rule["Prefix"] == {"Fn::Sub": "${SpillPrefix}/"}
    assert spill_rule["ExpirationInDays"] == {"Ref": "SpillRetentionDays"}


def test_table_has_the_shared_key_design(template: dict[str, Any]) -> None:
    table = template["Resources"]["Table"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]  # fmt: skip
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"},
                                             {"AttributeName": "sk", "AttributeType": "S"}]  # fmt: skip
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    spill_source = (REPO / "statsig_lite" / "sinks" / "spill_dynamodb.py").read_text(encoding="utf-8")
    assert '"expires_at"' in spill_source


def test_spill_retention_reaches_the_sdk(template: dict[str, Any]) -> None:
    """SpillRetentionDays is the S3 lifecycle and, through STATSIG_SPILL_RETENTION_DAYS, DynamoDB's expires_at."""
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    assert shared[c.ENV_SPILL_RETENTION_DAYS] == {"Ref": "SpillRetentionDays"}
    for days in (1, 30, 365):
        options = resolve_options(None, {c.ENV_SPILL_RETENTION_DAYS: str(days)})
        assert options.spill_retention_seconds == days * 86400


def test_sam_build_builds_the_layer_with_the_templates_runtime_byte_code(template: dict[str, Any]) -> None:
    layer = template["Resources"]["StatsigLiteLayer"]
    props = layer["Properties"]
    assert layer["Metadata"] == {"BuildMethod": "makefile"}
    assert props["ContentUri"] == "."  # the repository root: its Makefile and layers/build.py
    runtime = template["Globals"]["Function"]["Runtime"]
    assert props["CompatibleRuntimes"] == [runtime]
    assert sorted(props["CompatibleArchitectures"]) == ["arm64", "x86_64"]
    assert props["RetentionPolicy"] == "Delete", "old layer versions are deleted, not kept forever"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^build-StatsigLiteLayer:\n\t(.+)$", makefile, re.MULTILINE)
    assert target is not None, "sam build runs `make build-StatsigLiteLayer`"
    command = target.group(1)
    assert "layers/build.py" in command and '--tree "$(ARTIFACTS_DIR)"' in command
    assert f"--python {runtime.removeprefix('python')}" in command
    build = load_build_module()
    assert runtime.removeprefix("python") == build.DEFAULT_PYTHON


def test_functions_layers_and_schedule(template: dict[str, Any]) -> None:
    params, res = template["Parameters"], template["Resources"]
    globals_ = template["Globals"]["Function"]
    assert params["RefreshRate"]["Default"] == "rate(1 minute)"
    layers = globals_["Layers"]
    assert layers[0] == {"Ref": "StatsigLiteLayer"}
    condition, managed, custom = layers[1]["Fn::If"]
    assert condition == "UseManagedPowertoolsLayer" and custom == {"Ref": "PowertoolsLayerArn"}
    assert sub_text(managed) == (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:017000801446:layer:"
        "AWSLambdaPowertoolsPythonV3-python312-${Architecture}:${PowertoolsLayerVersion}"
    )
    assert globals_["Runtime"] == "python3.12"
    assert set(params["Architecture"]["AllowedValues"]) == {"arm64", "x86_64"}

    refresher = res["RefresherFunction"]["Properties"]
    assert refresher["Handler"] == "statsig_lite.refresher.handler"
    assert refresher["Timeout"] == 60
    assert refresher["ReservedConcurrentExecutions"] == 1
    (event,) = refresher["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == {"Ref": "RefreshRate"}
    invoke = refresher["EventInvokeConfig"]
    assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS",
                                                         "Destination": {"Fn::GetAtt": ["RefresherFailures", "Arn"]}}
    assert res["RefresherFailures"]["Properties"]["SqsManagedSseEnabled"] is True

    app = (REPO / "examples" / "app.py").read_text(encoding="utf-8")
    example = res["ExampleFunction"]["Properties"]
    assert example["Handler"] == "app.handler" and example["CodeUri"] == "examples/"
    assert "def handler(event, context):" in app
    http = res["ExampleHttpFunction"]["Properties"]
    assert http["Handler"] == "app.http_handler" and http["CodeUri"] == "examples/"
    assert "def http_handler(event, context):" in app
    (route,) = http["Events"].values()
    assert route == {"Type": "HttpApi", "Properties": {"Path": "/checkout", "Method": "GET"}}


def test_environment_is_what_the_sdk_reads(template: dict[str, Any]) -> None:
    names = example_names(template)
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    res = template["Resources"]
    refresher = res["RefresherFunction"]["Properties"]["Environment"]["Variables"]
    assert set(shared) == {c.ENV_SECRET_NAME, c.ENV_SPILL_TARGET, c.ENV_SPILL_RETENTION_DAYS, c.ENV_API_URL,
                           "POWERTOOLS_SERVICE_NAME"}  # fmt: skip
    assert set(refresher) == {c.ENV_SNAPSHOT_TARGETS, c.ENV_DCS_FORMAT, "POWERTOOLS_SERVICE_NAME"}
    secret_names = [render(v, names) for v in branches(shared[c.ENV_SECRET_NAME])]
    assert secret_names == ["secretsmanager:", names["SecretParameterName"]]  # what resolve_secret tells apart

    for function in ("ExampleFunction", "ExampleHttpFunction"):
        example = res[function]["Properties"]["Environment"]["Variables"]
        assert set(example) == {c.ENV_SPEC_SOURCE}
        sources = [render(v, names) for v in branches(example[c.ENV_SPEC_SOURCE])]
        assert len(sources) == 3 and all(s.endswith(",bundled") for s in sources)
        assert f"s3://{names['Bucket']}/{names['SnapshotKey']},bundled" in sources
        for spec in sources:
            parse_spec_source(spec)  # raises ConfigurationError for a value the SDK cannot use
        targets = [render(v, names) for v in branches(refresher[c.ENV_SNAPSHOT_TARGETS])]
        assert sorted(t + ",bundled" for t in targets) == sorted(sources)
    for spill in branches(shared[c.ENV_SPILL_TARGET]):
        open_spill_store(render(spill, names))


def test_alarms_watch_the_metrics_the_refresher_emits(template: dict[str, Any]) -> None:
    res = template["Resources"]
    service = res["RefresherFunction"]["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    emitted = (REPO / "statsig_lite" / "refresher" / "function.py").read_text(encoding="utf-8")
    for name in ("RefreshFailureAlarm", "SnapshotAgeAlarm"):
        alarm = res[name]["Properties"]
        assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"
        stats = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
        for metric in stats:
            if metric["Namespace"] == "statsig_lite":
                assert f'name="{metric["MetricName"]}"' in emitted, metric["MetricName"]
                assert metric["Dimensions"] == [{"Name": "service", "Value": service}]
            else:
                assert metric["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RefresherFunction"}}]
        assert sum(1 for m in alarm["Metrics"] if m.get("ReturnData", True)) == 1
    failures = res["RefreshFailureAlarm"]["Properties"]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in failures["Metrics"] if "MetricStat" in m} == {
        "RefreshFailed", "Errors"}  # fmt: skip
    age = res["SnapshotAgeAlarm"]["Properties"]
    assert age["TreatMissingData"] == "breaching", "no refresher run at all must alarm too"
    assert age["EvaluationPeriods"] == {"Ref": "SnapshotMaxAgeMinutes"}


def test_outputs_export_what_your_own_functions_need(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) == {"ExampleUrl", "LayerArn", "AccessPolicyArn", "SpecSource", "SpillTarget", "SecretName",
                            "BucketName", "TableName", "RefresherFunctionName", "RefresherFailureQueueUrl",
                            "ExampleFunctionName"}  # fmt: skip
    assert outputs["BucketName"]["Condition"] == "CreateBucket"
    assert outputs["TableName"]["Condition"] == "CreateTable"
    assert outputs["LayerArn"]["Value"] == {"Ref": "StatsigLiteLayer"}
    assert outputs["AccessPolicyArn"]["Value"] == {"Ref": ACCESS_POLICY}
    assert sub_text(outputs["ExampleUrl"]["Value"]).startswith("https://${ServerlessHttpApi}.execute-api.")
    exports = {name: sub_text(o["Export"]["Name"]) for name, o in outputs.items() if "Export" in o}
    assert exports == {n: "${AWS::StackName}-" + n for n in ("LayerArn", "AccessPolicyArn", "SpecSource",
                                                             "SpillTarget", "SecretName")}  # fmt: skip
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert outputs["SpillTarget"]["Value"] == env[c.ENV_SPILL_TARGET]
    assert outputs["SecretName"]["Value"] == env[c.ENV_SECRET_NAME]
    example_env = template["Resources"]["ExampleFunction"]["Properties"]["Environment"]["Variables"]
    assert outputs["SpecSource"]["Value"] == example_env[c.ENV_SPEC_SOURCE]


def test_readme_snippet_uses_the_exports(template: dict[str, Any]) -> None:
    """The README's snippet for your own functions imports exactly what the stack exports."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```yaml\n(      Layers: .*?)```", readme, re.DOTALL)
    assert match is not None, "README: the 'your own functions' snippet"
    snippet = match.group(1)
    assert len(snippet.strip().splitlines()) <= 5
    imported = set(re.findall(r"!ImportValue\s+([\w-]+)", snippet))
    assert imported == {f"statsig-lite-{n}" for n in ("LayerArn", "AccessPolicyArn", "SpecSource", "SpillTarget",
                                                      "SecretName")}, imported  # fmt: skip
    for variable in (c.ENV_SPEC_SOURCE, c.ENV_SPILL_TARGET, c.ENV_SECRET_NAME):
        assert variable in snippet


# boto3 client calls in the package -> the IAM action each needs
CALL_ACTIONS = {
    "get_object": "s3:GetObject",
    "head_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "delete_object": "s3:DeleteObject",
    "delete_objects": "s3:DeleteObject",
    "list_objects_v2": "s3:ListBucket",
    "get_item": "dynamodb:GetItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "transact_write_items": "dynamodb:PutItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
}


def aws_actions_called(*folders: str) -> set[str]:
    """The S3 / DynamoDB actions the code in ``folders`` (under statsig_lite/) calls boto3 for."""
    found = set()
    for folder in folders:
        for path in (REPO / "statsig_lite" / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found.update(CALL_ACTIONS[m] for m in re.findall(r"\.(\w+)\(", text) if m in CALL_ACTIONS)
            found.update(CALL_ACTIONS[m] for m in re.findall(r"get_paginator\(\"(\w+)\"\)", text))
    return found


@pytest.mark.parametrize(
    ("role", "folders"),
    [("ExampleFunctionRole", ("sources", "sinks")), ("RefresherRole", ("sources", "sinks", "refresher"))],
)
def test_every_data_action_the_code_calls_is_granted(
    template: dict[str, Any], role: str, folders: tuple[str, ...]
) -> None:
    """Every S3 / DynamoDB call the function's code makes is allowed (a Scan is checked on its own below)."""
    needed = aws_actions_called(*folders) - {"dynamodb:Scan"}
    granted_actions = {a for s in allows(template, role) for a in actions(s) if a.startswith(("s3:", "dynamodb:"))}
    assert {"s3:GetObject", "dynamodb:GetItem"} <= needed
    assert needed <= granted_actions, f"missing {needed - granted_actions}"


def test_the_code_never_scans_the_table() -> None:
    assert "dynamodb:Scan" not in aws_actions_called("sources", "sinks", "refresher")
