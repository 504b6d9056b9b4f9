"""The AWS-compatible endpoint: EventBridge's JSON 1.1 and Pipes' REST-JSON, with SigV4.

boto3, the AWS CLI and other AWS SDKs, given only ``endpoint_url`` (and credentials when
the endpoint has access keys), call eventpipes as they call EventBridge. ``protocol`` reads
and answers the two wire protocols, ``sigv4`` checks signatures against ``credentials``,
``events`` and ``archives`` run the operations that need no resource store, and ``plane``
passes resource operations to the control plane. ``server`` serves it all with aiohttp.
"""

from eventpipes.api.server import BackgroundEndpoint, Endpoint, make_app, require_credentials, run, start

__all__ = ["BackgroundEndpoint", "Endpoint", "make_app", "require_credentials", "run", "start"]
