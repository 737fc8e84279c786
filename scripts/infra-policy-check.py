"""Checks the access rules of infra/template.yaml that cfn-lint cannot know (run by
scripts/infra-lint with the infra venv's Python, which has SAM CLI's YAML loader):

1. the bucket the template creates has a policy that denies every request made without TLS
   (`aws:SecureTransport` false), on the bucket and on its objects;
2. writers and readers cannot delete: no Allow statement of a Writer* or Reader* policy or
   role grants an S3 delete, a DynamoDB DeleteItem, or a wildcard that includes them. Only the
   jobs (JobPolicy) delete: GC after the reader grace, behind the manifest's graveyard;
3. consumers in groups (GroupMemberPolicy, which ReaderRole may attach) write and delete only
   their groups' records: every S3 resource under `<prefix>/groups/` or `<prefix>/group-index/`,
   every DynamoDB grant narrowed by `dynamodb:LeadingKeys` to the groups' partition keys;
4. the agent's function (AgentFunction) is a writer: its policies are the writers' or
   readers' only (no inline statement, no JobPolicy), and its function URL asks for IAM auth
   (AuthType AWS_IAM), since the agent runs there without bearer tokens.

Exits non-zero, naming every rule broken."""

import sys

from samcli.yamlhelper import yaml_parse

DELETES = ("s3:delete", "dynamodb:deleteitem", "dynamodb:batchwriteitem")


def actions(statement):
    found = statement.get("Action", [])
    return [found] if isinstance(found, str) else list(found)


def statements(document):
    """Every statement of a policy document, both branches of an Fn::If included."""
    for s in document.get("Statement", []):
        if isinstance(s, dict) and "Fn::If" in s:
            yield from (b for b in s["Fn::If"][1:] if isinstance(b, dict) and "Effect" in b)
        else:
            yield s


def documents(resource):
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        yield props["PolicyDocument"]
    if resource["Type"] == "AWS::IAM::Role":
        yield from (p["PolicyDocument"] for p in props.get("Policies", []))


def deletes(action):
    a = action.lower()
    return a == "*" or a.endswith(":*") or a.startswith(DELETES)


def check_no_deletes(resources, problems):
    clients = {n: r for n, r in resources.items() if n.startswith(("Writer", "Reader"))}
    for wanted in ("WriterPolicy", "ReaderPolicy", "WriterRole", "ReaderRole"):
        if wanted not in clients:
            problems.append(f"no {wanted}: writers and readers need their own access")
    for name, resource in clients.items():
        for document in documents(resource):
            for s in statements(document):
                bad = [a for a in actions(s) if s.get("Effect") == "Allow" and deletes(a)]
                if bad:
                    problems.append(f"{name} allows {', '.join(bad)}: only the jobs delete")
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            ref = str(arn.get("Ref", "") if isinstance(arn, dict) else arn)
            own = ref.startswith(("Writer", "Reader"))
            if not own and not (name == "ReaderRole" and ref == "GroupMemberPolicy"):
                problems.append(f"{name} attaches {arn}: only its own policy")


def sub_text(value):
    """The text of a `!Sub` (plain or with variables), or of a plain string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub[0] if isinstance(sub, list) else sub
    return str(value)


def check_group_policy(resources, problems):
    policy = resources.get("GroupMemberPolicy")
    if policy is None:
        problems.append("no GroupMemberPolicy: consumers in groups need their own access")
        return
    for s in statements(policy["Properties"]["PolicyDocument"]):
        if any(a.lower().startswith("s3:") for a in actions(s)):
            found = s.get("Resource", [])
            for r in found if isinstance(found, list) else [found]:
                text = sub_text(r)
                if not text.endswith(("/${Prefix}/groups/*", "/${Prefix}/group-index/*")):
                    problems.append(f"GroupMemberPolicy grants S3 on {text}: only group records")
        if any(a.lower().startswith("dynamodb:") for a in actions(s)):
            like = s.get("Condition", {}).get("ForAllValues:StringLike", {})
            keys = [sub_text(k) for k in like.get("dynamodb:LeadingKeys", [])]
            if not keys or not all("/${Prefix}/group" in k for k in keys):
                problems.append("GroupMemberPolicy's DynamoDB grant is not narrowed to groups' keys")


def check_agent(resources, problems):
    agent = resources.get("AgentFunction")
    if agent is None:
        problems.append("no AgentFunction: the agent's Lambda function is missing")
        return
    props = agent.get("Properties", {})
    for policy in props.get("Policies", []):
        name = policy.get("Ref", "") if isinstance(policy, dict) else ""
        if not name.startswith(("Writer", "Reader")):
            problems.append(f"AgentFunction has policy {policy}: only WriterPolicy or ReaderPolicy")
    auth = props.get("FunctionUrlConfig", {}).get("AuthType")
    if auth != "AWS_IAM":
        problems.append(f"AgentFunction's URL has AuthType {auth}: it must be AWS_IAM")


def denies_plain_http(statement):
    condition = statement.get("Condition", {}).get("Bool", {})
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and "s3:*" in actions(statement)
        and str(condition.get("aws:SecureTransport")).lower() == "false"
        and len(statement.get("Resource", [])) == 2  # the bucket and its objects
    )


def check_tls_only(resources, problems):
    policies = [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy"
        and r["Properties"].get("Bucket") == {"Ref": "Bucket"}
    ]
    if not any(denies_plain_http(s) for p in policies for s in statements(p)):
        problems.append("the created bucket has no policy denying requests without TLS")


def main(path):
    with open(path, encoding="utf-8") as f:
        resources = yaml_parse(f.read())["Resources"]
    problems = []
    check_no_deletes(resources, problems)
    check_tls_only(resources, problems)
    check_group_policy(resources, problems)
    check_agent(resources, problems)
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(
        "access rules: TLS only; writers, readers and the agent cannot delete data;"
        " group members write only group records;"
        f" the agent's URL needs IAM auth ({path})"
    )


if __name__ == "__main__":
    main(sys.argv[1])
