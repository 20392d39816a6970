"""The private network of the capabilities that need one (the cache): no NAT, no internet.

Subnets are private *isolated*: no NAT gateway (no ~$32/month per AZ, no path to the
internet). AWS services are reached through VPC endpoints instead: gateway endpoints for S3 and
DynamoDB (free) here, and :meth:`ServekitNetwork.add_interface_endpoint` for any other service
a capability needs (SQS for the hybrid pattern, Secrets Manager, ...), each reachable on 443
from the security groups that ask for it only. Rejected traffic is logged (VPC flow logs).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.constructs.log_groups import retained_log_group

__all__ = ["SUBNET_GROUP", "ServekitNetwork"]

SUBNET_GROUP = "isolated"


class ServekitNetwork(Construct):
    """A VPC with isolated subnets in ``max_azs`` AZs, S3 and DynamoDB gateway endpoints.

    Attributes:
        vpc: the VPC; subnets: the selection every function and cache uses;
        interface_endpoints: service name -> endpoint added so far.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        max_azs: int,
        log_retention_days: int,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.subnets = ec2.SubnetSelection(subnet_group_name=SUBNET_GROUP)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            create_internet_gateway=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=SUBNET_GROUP, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
                ),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=[self.subnets]
                ),
            },
        )
        flow_logs = retained_log_group(
            self, "FlowLogs", retention_days=log_retention_days, removal_policy=removal_policy
        )
        self.vpc.add_flow_log(
            "RejectedTraffic",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}

    def allow_gateway_endpoints(self, security_group: ec2.ISecurityGroup) -> None:
        """Let ``security_group`` reach S3 and DynamoDB (HTTPS through the gateway endpoints).

        The only routes out of these subnets lead to the VPC's endpoints, so any-IPv4 on 443
        reaches nothing else; an environment-agnostic template cannot name the services'
        prefix lists (they differ per region), which is why the rule is not narrower.
        """
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3/DynamoDB via gateway endpoints"
        )

    def add_interface_endpoint(
        self,
        construct_id: str,
        service: ec2.InterfaceVpcEndpointAwsService,
        *,
        clients: Sequence[ec2.ISecurityGroup],
    ) -> ec2.InterfaceVpcEndpoint:
        """An interface endpoint (private DNS) reachable on 443 from ``clients`` only.

        For example ``network.add_interface_endpoint("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS,
        clients=[function_sg])``; the client security groups also need the matching egress rule
        (``function_sg.connections.allow_to(endpoint, ec2.Port.tcp(443))``).
        """
        security_group = ec2.SecurityGroup(
            self,
            f"{construct_id}EndpointSg",
            vpc=self.vpc,
            description=f"{construct_id} interface endpoint: HTTPS from servekit functions only",
            allow_all_outbound=False,
        )
        endpoint = self.vpc.add_interface_endpoint(
            construct_id,
            service=service,
            subnets=self.subnets,
            private_dns_enabled=True,
            open=False,
            security_groups=[security_group],
        )
        for client in clients:
            security_group.add_ingress_rule(
                client,
                ec2.Port.tcp(443),
                f"HTTPS to {construct_id} from {client.node.id}",
            )
            client.add_egress_rule(
                security_group,
                ec2.Port.tcp(443),
                f"HTTPS to the {construct_id} interface endpoint",
            )
        self.interface_endpoints[construct_id] = endpoint
        return endpoint
