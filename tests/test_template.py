"""template.yaml: cfn-lint clean, and least privilege checked by reading the template itself.

The template is parsed with a SafeLoader that turns CloudFormation's short-form tags (!Ref, !Sub, !If...)
into their long form. Every ``Fn::If`` is followed down both branches, so what is checked holds for every
choice of SnapshotStore / SpillStore / key parameters. Patterns the policies grant (S3 prefixes, DynamoDB
LeadingKeys) are checked against the keys the SDK's own spill stores and snapshot writer produce.
"""

from __future__ import annotations

import fnmatch
import importlib.util
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
from statsig_lite.sinks import open_spill_store  # noqa: E402
from statsig_lite.sinks.base import SpillRecord  # noqa: E402
from statsig_lite.sources.dynamodb import build_items  # noqa: E402
from statsig_lite.sources.uri import parse_spec_source  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"
SAM = "AWS::Serverless-2016-10-31"
NO_VALUE = {"Ref": "AWS::NoValue"}

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
    resource = template["Resources"][role]
    assert resource["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in resource["Properties"], f"{role}: managed policies grant more than needed"
    found = []
    for policy in resource["Properties"]["Policies"]:
        found.extend(statements(policy["PolicyDocument"]))
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


# ---------------------------------------------------------------------------------------------- IAM


def test_is_a_sam_template_whose_functions_use_explicit_roles(template: dict[str, Any]) -> None:
    assert template["Transform"] == SAM
    functions = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"RefresherFunction", "ExampleFunction"}
    roles = {"RefresherFunction": "RefresherRole", "ExampleFunction": "ExampleFunctionRole"}
    for name, function in functions.items():
        props = function["Properties"]
        # A SAM-made role would carry AWSLambdaBasicExecutionRole (log actions on "*") and policy templates.
        assert "Policies" not in props, f"{name}: use the explicit role"
        assert props["Role"] == {"Fn::GetAtt": [roles[name], "Arn"]}
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
    assert checked >= 15


def _scoped(resource: Any, template: dict[str, Any]) -> bool:
    """A resource names one thing the stack made or a parameter names (no account-wide wildcard)."""
    if isinstance(resource, str):
        return "*" not in resource
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
        for value in [*resources(statement), *leading_keys(statement)]:
            for concrete in branches(value):
                text = sub_text(concrete)
                if text is not None:
                    used.update(r for r in sub_refs(text) if r in params)
                if isinstance(concrete, dict) and concrete.get("Ref") in params:
                    used.add(concrete["Ref"])
    assert {"SecretParameterName", "SnapshotKey", "SpillPrefix"} <= used
    for name in used:
        pattern = params[name].get("AllowedPattern")
        assert pattern, f"{name} goes into an ARN or key condition: it needs an AllowedPattern"
        for widening in ("*", "a*", "?", "a/*"):
            assert re.fullmatch(pattern, widening) is None, f"{name} accepts {widening!r}"


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


EXAMPLE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ssm:GetParameter",
    "kms:Decrypt",
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
}
REFRESHER_ACTIONS = EXAMPLE_ACTIONS
SNAPSHOT_OBJECT = "${Bucket.Arn}/${SnapshotKey}"
SPILL_OBJECTS = "${Bucket.Arn}/${SpillPrefix}/*"
PARAMETER_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SecretParameterName}"


def _secret_access(template: dict[str, Any], role: str) -> None:
    (ssm,) = granted(template, role, "ssm:GetParameter")
    assert actions(ssm) == {"ssm:GetParameter"} and resources(ssm) == [{"Fn::Sub": PARAMETER_ARN}]
    # kms:Decrypt only for a customer managed key (aws/ssm's key policy already allows decrypting via SSM)
    raw = [
        s
        for s in as_list(template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
        if isinstance(s, dict) and "Fn::If" in s and s["Fn::If"][0] == "SecretHasCustomerKey"
    ]
    assert len(raw) == 1 and raw[0]["Fn::If"][2] == NO_VALUE
    (kms,) = granted(template, role, "kms:Decrypt")
    assert actions(kms) == {"kms:Decrypt"} and resources(kms) == [{"Ref": "SecretKmsKeyArn"}]
    equals = kms["Condition"]["StringEquals"]
    assert equals["kms:ViaService"] == {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
    assert equals["kms:EncryptionContext:PARAMETER_ARN"] == {"Fn::Sub": PARAMETER_ARN}


def _own_log_group(template: dict[str, Any], role: str, log_group: str, function: str) -> None:
    (logs,) = granted(template, role, "logs:PutLogEvents")
    assert actions(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert resources(logs) == [{"Fn::GetAtt": [log_group, "Arn"]}]
    props = template["Resources"][function]["Properties"]
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": log_group}


def test_example_function_role_is_least_privilege(template: dict[str, Any]) -> None:
    role = "ExampleFunctionRole"
    used = set().union(*(actions(s) for s in allows(template, role)))
    assert used <= EXAMPLE_ACTIONS, used - EXAMPLE_ACTIONS
    _own_log_group(template, role, "ExampleLogGroup", "ExampleFunction")
    _secret_access(template, role)
    # the snapshot: read one key, never write it
    reads = [s for s in granted(template, role, "s3:GetObject") if sub_text(resources(s)[0]) == SNAPSHOT_OBJECT]
    assert len(reads) == 1 and actions(reads[0]) == {"s3:GetObject"}
    for action in ("s3:PutObject", "s3:DeleteObject"):
        for statement in granted(template, role, action):
            assert [sub_text(r) for r in resources(statement)] == [SPILL_OBJECTS], statement
    (listing,) = granted(template, role, "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${SpillPrefix}/*"}}}
    # DynamoDB: snapshot items read-only, spill items by their partition (Query, never Scan)
    for statement in granted(template, role, "dynamodb:GetItem") + granted(template, role, "dynamodb:PutItem"):
        assert leading_keys(statement), statement
        if "dynamodb:GetItem" in actions(statement):  # the snapshot: main item and versioned chunks
            assert actions(statement) == {"dynamodb:GetItem", "dynamodb:Query"}
        else:  # the spill: its partition and its quarantine
            assert "dynamodb:Scan" not in actions(statement)
            assert leading_keys(statement) == [{"Ref": "SpillPrefix"}, {"Fn::Sub": "${SpillPrefix}#*"}]
    assert granted(template, role, "dynamodb:Scan") == []


def test_refresher_role_is_least_privilege(template: dict[str, Any]) -> None:
    role = "RefresherRole"
    used = set().union(*(actions(s) for s in allows(template, role)))
    assert used <= REFRESHER_ACTIONS, used - REFRESHER_ACTIONS
    _own_log_group(template, role, "RefresherLogGroup", "RefresherFunction")
    _secret_access(template, role)
    snapshot = [s for s in granted(template, role, "s3:PutObject") if sub_text(resources(s)[0]) == SNAPSHOT_OBJECT]
    assert len(snapshot) == 1 and actions(snapshot[0]) == {"s3:GetObject", "s3:PutObject"}
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        for statement in granted(template, role, action):
            assert [sub_text(r) for r in resources(statement)] in ([SNAPSHOT_OBJECT], [SPILL_OBJECTS]), statement
    # ListBucket: unconditioned only so that a missing snapshot key reads as 404 (see the template's comment)
    listings = granted(template, role, "s3:ListBucket")
    assert {str(s.get("Condition")) for s in listings} == {
        "None",
        str({"StringLike": {"s3:prefix": {"Fn::Sub": "${SpillPrefix}/*"}}}),
    }
    for statement in listings:
        assert actions(statement) == {"s3:ListBucket"} and resources(statement) == [{"Fn::GetAtt": ["Bucket", "Arn"]}]
    for statement in allows(template, role):
        if any(a.startswith("dynamodb:") for a in actions(statement)) and actions(statement) != {"dynamodb:Scan"}:
            assert leading_keys(statement), statement
            assert resources(statement) == [{"Fn::GetAtt": ["Table", "Arn"]}]


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
    (ddb_key,) = ddb_client.keys
    assert fnmatch.fnmatchcase(s3_key, f"{prefix}/*") and s3_key.startswith(f"{prefix}/")
    assert ddb_key == prefix  # spill items: pk = <prefix> (quarantine: <prefix>#quarantine)
    lifecycle = template["Resources"]["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert s3_key.startswith(render(lifecycle["Prefix"], names))

    snapshot = random.Random(6).randbytes(5_000)  # incompressible: gzip'd it still needs several chunks
    chunks, main = build_items(key, snapshot, "v1", chunk_bytes=1_000)
    chunked = [item["pk"]["S"] for item in [*chunks, main]]
    assert len(chunked) > 2
    for role, sid in (("ExampleFunctionRole", "ReadSnapshotItems"), ("RefresherRole", "SnapshotItems")):
        (statement,) = [s for s in allows(template, role) if s.get("Sid") == sid]
        patterns = [render(p, names) for p in leading_keys(statement)]
        for pk in chunked:
            assert any(fnmatch.fnmatchcase(pk, p) for p in patterns), (role, pk, patterns)
        assert not any(fnmatch.fnmatchcase(ddb_key, p) for p in patterns), "snapshot grants reach spill items"


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


def test_table_matches_the_sdk_layout(template: dict[str, Any]) -> None:
    table = template["Resources"]["Table"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    spill_source = (REPO / "statsig_lite" / "sinks" / "spill_dynamodb.py").read_text(encoding="utf-8")
    assert '"expires_at": {"N"' in spill_source and '"pk": {"S": pk}' in spill_source


def test_layer_is_built_by_layers_build(template: dict[str, Any]) -> None:
    build = load_build_module()
    props = template["Resources"]["StatsigLiteLayer"]["Properties"]
    assert props["ContentUri"] == f"layers/build/{build.LEAN_ZIP}"
    assert build.DEFAULT_OUT == REPO / "layers" / "build"
    assert props["CompatibleRuntimes"] == ["python3.10", "python3.11", "python3.12", "python3.13"]
    assert sorted(props["CompatibleArchitectures"]) == ["arm64", "x86_64"]


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
    (event,) = refresher["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == {"Ref": "RefreshRate"}

    example = res["ExampleFunction"]["Properties"]
    assert example["Handler"] == "app.handler" and example["CodeUri"] == "examples/"
    assert "def handler(event, context):" in (REPO / "examples" / "app.py").read_text(encoding="utf-8")


def test_environment_is_what_the_sdk_reads(template: dict[str, Any]) -> None:
    names = example_names(template)
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    example = template["Resources"]["ExampleFunction"]["Properties"]["Environment"]["Variables"]
    refresher = template["Resources"]["RefresherFunction"]["Properties"]["Environment"]["Variables"]
    assert set(shared) == {c.ENV_SECRET_NAME, c.ENV_SPILL_TARGET, c.ENV_API_URL, "POWERTOOLS_SERVICE_NAME"}
    assert set(example) == {c.ENV_SPEC_SOURCE}
    assert set(refresher) == {"STATSIG_SNAPSHOT_TARGETS", "STATSIG_DCS_FORMAT"}
    assert shared[c.ENV_SECRET_NAME] == {"Ref": "SecretParameterName"}

    sources = [render(v, names) for v in branches(example[c.ENV_SPEC_SOURCE])]
    assert len(sources) == 3 and all(s.endswith(",bundled") for s in sources)
    assert f"s3://{names['Bucket']}/{names['SnapshotKey']},bundled" in sources
    for spec in sources:
        parse_spec_source(spec)  # raises ConfigurationError for a value the SDK cannot use
    targets = [render(v, names) for v in branches(refresher["STATSIG_SNAPSHOT_TARGETS"])]
    assert sorted(t + ",bundled" for t in targets) == sorted(sources)
    for spill in branches(shared[c.ENV_SPILL_TARGET]):
        open_spill_store(render(spill, names))


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) == {"BucketName", "TableName", "LayerArn", "RefresherFunctionName", "ExampleFunctionName"}
    assert outputs["BucketName"]["Condition"] == "CreateBucket"
    assert outputs["TableName"]["Condition"] == "CreateTable"
    assert outputs["LayerArn"]["Value"] == {"Ref": "StatsigLiteLayer"}


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
def test_data_actions_granted_are_exactly_those_the_code_calls(
    template: dict[str, Any], role: str, folders: tuple[str, ...]
) -> None:
    """Every S3 / DynamoDB call the function's code makes is allowed, and nothing it never calls is."""
    needed = aws_actions_called(*folders)
    granted_actions = {a for s in allows(template, role) for a in actions(s) if a.startswith(("s3:", "dynamodb:"))}
    assert {"s3:GetObject", "dynamodb:GetItem"} <= needed
    assert granted_actions == needed, f"missing {needed - granted_actions}, unused {granted_actions - needed}"
