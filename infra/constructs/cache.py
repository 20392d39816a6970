"""The inference/data cache: ElastiCache Serverless for Valkey, private, TLS, IAM auth.

Why Serverless Valkey rather than a node-based replication group:

* the request rate of a serverless inference API is spiky and unknown in advance; the
  serverless cache scales storage and throughput by itself (bounded here by the
  ``max_data_storage_gb`` and ``max_ecpu_per_second`` cost guards) with no node type to size,
  and is Multi-AZ with automatic failover from the start;
* encryption in transit (TLS) and at rest are always on, not options to forget;
* Valkey costs less than Redis OSS on ElastiCache Serverless (lower minimum and per-ECPU
  price), and the ``redis`` client speaks to it unchanged;
* a replication group is the better buy only for a steady, large working set (reserved
  nodes); switching means replacing this construct, not the runtime.

Authentication is IAM: the function signs a short-lived token with its own role
(``elasticache:Connect`` on this cache and this user only), so there is no password to store,
rotate or fetch, hence no Secrets Manager interface endpoint in the VPC. The ACL user may only
touch keys under the cache's prefix, without dangerous commands; the ``default`` user, which
every user group needs, is disabled.

Network: the cache's security group admits the clients' security group on the cache port
only; the clients' security group allows egress to the cache port only (plus HTTPS through the
S3 gateway endpoint when inputs by reference are enabled).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import CacheConfig
from infra.constructs.network import SUBNET_GROUP, ServekitNetwork
from servekit.cache import shapes as names

__all__ = ["InferenceCache"]

ENGINE = "valkey"
MAJOR_ENGINE_VERSION = "8"
KEY_PREFIX = names.DEFAULT_KEY_PREFIX


class InferenceCache(Construct):
    """The serverless cache, its users, and the security group its clients get.

    Attributes:
        cache: the ``CfnServerlessCache``; user: the IAM-authenticated ACL user;
        client_security_group: give it to every function that uses the cache;
        cache_security_group: the cache's own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: ServekitNetwork,
        config: CacheConfig,
        stage: str,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.network = network
        self.cache_name = f"servekit-{stage}"
        vpc = network.vpc

        self.cache_security_group = ec2.SecurityGroup(
            self,
            "CacheSg",
            vpc=vpc,
            description=f"servekit {stage} cache: Valkey port from servekit functions only",
            allow_all_outbound=False,
        )
        self.client_security_group = ec2.SecurityGroup(
            self,
            "ClientSg",
            vpc=vpc,
            description=f"servekit {stage} cache clients: egress to the cache port only",
            allow_all_outbound=False,
        )
        port = ec2.Port.tcp(names.CACHE_PORT)
        # Security groups as peers (not ids): separate rule resources, no dependency cycle.
        self.cache_security_group.add_ingress_rule(
            self.client_security_group,
            port,
            "Valkey from the cache clients",
        )
        self.client_security_group.add_egress_rule(
            self.cache_security_group,
            port,
            "Valkey to the cache",
        )
        if config.input_buckets:  # inputs by reference are read from S3
            network.allow_gateway_endpoints(self.client_security_group)

        self.default_user = elasticache.CfnUser(
            self,
            "DefaultUser",
            engine=ENGINE,
            user_id=f"{self.cache_name}-default",
            user_name="default",
            access_string="off -@all",
            no_password_required=True,
        )
        self.user = elasticache.CfnUser(
            self,
            "AppUser",
            engine=ENGINE,
            user_id=f"{self.cache_name}-app",
            user_name=f"{self.cache_name}-app",  # IAM authentication needs name == id
            access_string=f"on {names.ACL_RULES}",
            authentication_mode={"Type": "iam"},
        )
        self.user_group = elasticache.CfnUserGroup(
            self,
            "Users",
            engine=ENGINE,
            user_group_id=self.cache_name,
            user_ids=[self.default_user.ref, self.user.ref],  # Ref: the user id
        )

        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine=ENGINE,
            major_engine_version=MAJOR_ENGINE_VERSION,
            serverless_cache_name=self.cache_name,
            description=f"servekit {stage} inference and data cache",
            security_group_ids=[self.cache_security_group.security_group_id],
            subnet_ids=vpc.select_subnets(subnet_group_name=SUBNET_GROUP).subnet_ids,
            user_group_id=self.user_group.ref,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(
                    unit="GB", maximum=config.max_data_storage_gb
                ),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(
                    maximum=config.max_ecpu_per_second
                ),
            ),
            snapshot_retention_limit=config.snapshot_retention_days or None,
        )
        self.cache.apply_removal_policy(removal_policy)

    @property
    def endpoint(self) -> str:
        return f"{self.cache.attr_endpoint_address}:{self.cache.attr_endpoint_port}"

    def environment(self) -> dict[str, str]:
        """``SERVEKIT_CACHE_*`` for a client function (names shared with the runtime)."""
        config = self.config
        return {
            names.ENV_CACHE_URL: f"rediss://{self.endpoint}",
            names.ENV_CACHE_AUTH: "iam",
            names.ENV_CACHE_USER: self.user.user_id,
            names.ENV_CACHE_NAME: self.cache_name,
            names.ENV_CACHE_SERVERLESS: "true",
            names.ENV_CACHE_CLUSTER: "true",  # serverless caches are cluster-mode only
            names.ENV_CACHE_KEY_PREFIX: KEY_PREFIX,
            names.ENV_CACHE_TTL_S: str(config.ttl_s),
            names.ENV_CACHE_DATA_TTL_S: str(config.data_ttl_s),
            names.ENV_CACHE_MAX_VALUE_BYTES: str(config.max_value_bytes),
            names.ENV_CACHE_TIMEOUT_MS: str(config.timeout_ms),
            names.ENV_CACHE_CONNECT_TIMEOUT_MS: str(config.connect_timeout_ms),
            names.ENV_CACHE_BREAKER_FAILURES: str(config.breaker_failures),
            names.ENV_CACHE_BREAKER_RESET_MS: str(config.breaker_reset_ms),
            names.ENV_CACHE_ADMISSION: config.admission,
            names.ENV_CACHE_INPUT_BUCKETS: ",".join(config.input_buckets),
        }

    def function_options(self) -> dict[str, Any]:
        """Keyword arguments putting a ``ServekitFunction`` next to the cache."""
        return {
            "extra_environment": self.environment(),
            "vpc": self.network.vpc,
            "vpc_subnets": self.network.subnets,
            "security_groups": [self.client_security_group],
        }

    def grant_client(self, role: iam.IRole) -> None:
        """What a function in the VPC using this cache needs on top of its base role."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ConnectToCache",
                actions=["elasticache:Connect"],
                resources=[self.cache.attr_arn, self.user.attr_arn],
            )
        )
        # The statements of AWS's AWSLambdaVPCAccessExecutionRole, inline (no managed policy):
        # Lambda manages the function's network interfaces with the function's role.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ManageVpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        if self.config.input_buckets:
            stack = Stack.of(self)
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadInputReferences",
                    actions=["s3:GetObject"],
                    resources=[
                        stack.format_arn(
                            service="s3", region="", account="", resource=bucket, resource_name="*"
                        )
                        for bucket in self.config.input_buckets
                    ],
                )
            )
