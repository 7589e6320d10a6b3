"""botocore's failures as glint errors: one line that says what is wrong.

Three failures an operator must tell apart at ``credentials add``: a key that is wrong
(unknown id, bad secret, expired), a key that works but may not do this, and a region that
does not answer. Everything else is sorted by what to do next: not found, a conflict of
state, a quota, a bad request, or a throttle / server error worth a retry (transient).
Text that came from the cloud is escaped; the secret is never in a message (botocore never
puts it there, and nothing here formats it).
"""

from __future__ import annotations

from botocore import exceptions as bc
from botocore.parsers import ResponseParserError

from glint_tui.core import errors
from glint_tui.core.errors import CloudError, GlintError
from glint_tui.core.safetext import escape

WRONG_KEY = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
    }
)
DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "OptInRequired"}
)
NOT_FOUND = frozenset(
    {
        "InvalidAMIID.NotFound",
        "InvalidAMIID.Unavailable",
        "InvalidAMIID.Malformed",
        "InvalidSnapshot.NotFound",
        "InvalidSnapshotID.Malformed",
        "ResourceNotFoundException",
    }
)
CONFLICT = frozenset(
    {"IncorrectState", "InvalidSnapshot.InUse", "ConflictException", "InvalidAMIName.Duplicate"}
)
QUOTA = frozenset(
    {
        "ResourceLimitExceeded",
        "SnapshotLimitExceeded",
        "AMIQuotaExceeded",
        "ServiceQuotaExceededException",
    }
)
RETRY = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "RequestThrottledException",
        "ConcurrentLimitExceededException",
        "InternalError",
        "InternalFailure",
        "InternalServerException",
        "ServiceUnavailable",
        "Unavailable",
        "ServiceUnavailableException",
    }
)
NO_SUCH_SERVICE = frozenset({"InvalidAction", "UnknownOperationException", "NotImplemented"})
NOT_AN_AWS_ANSWER = "answered with something that is not an AWS API response"
"""What a cloud without the service often does: a plain 404 page botocore cannot parse."""


def code_of(exc: BaseException) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    if isinstance(exc, bc.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "")
    return ""


def _status(exc: bc.ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def translate(exc: BaseException, where: str, what: str, endpoint: str) -> GlintError:
    """*exc* (raised while doing *what* against *endpoint*) as a glint error at *where*."""
    if isinstance(exc, GlintError):
        return exc
    if isinstance(exc, bc.ClientError):
        return _client_error(exc, where, what)
    if isinstance(exc, (bc.NoCredentialsError, bc.PartialCredentialsError)):
        return errors.AuthenticationFailed(
            "no AWS credentials found (environment, ~/.aws/credentials, instance role)", where
        )
    if isinstance(exc, bc.ProfileNotFound):
        return errors.AuthenticationFailed(
            f"no AWS profile {escape(exc.kwargs.get('profile', ''))!r} in ~/.aws/config "
            "or ~/.aws/credentials",
            where,
        )
    if isinstance(exc, (bc.ConnectTimeoutError, bc.EndpointConnectionError)):
        return errors.Unreachable(f"{endpoint} does not answer ({what})", where)
    if isinstance(exc, bc.ReadTimeoutError):
        return errors.Unreachable(
            f"{endpoint} accepted the connection, then no answer ({what})", where
        )
    if isinstance(exc, (bc.ConnectionClosedError, bc.HTTPClientError)):
        return errors.ServerError(f"the connection to {endpoint} broke ({what})", where)
    if isinstance(exc, ResponseParserError):
        return errors.BadRequest(f"{what}: {endpoint} {NOT_AN_AWS_ANSWER}", where)
    if isinstance(exc, bc.ParamValidationError):
        return errors.BadRequest(f"{what}: {escape(str(exc))}", where)
    if isinstance(exc, bc.BotoCoreError):
        return errors.ServerError(f"{what}: {escape(str(exc))}", where)
    return errors.ServerError(f"{what}: {type(exc).__name__}: {escape(str(exc))}", where)


def _client_error(exc: bc.ClientError, where: str, what: str) -> CloudError:
    code = code_of(exc)
    message = escape(str(exc.response.get("Error", {}).get("Message") or ""))
    status = _status(exc)
    said = f" ({escape(code)}{': ' + message if message else ''})"
    if code in WRONG_KEY:
        return errors.AuthenticationFailed(
            f"the access key was refused: wrong access key id or secret{said}", where, status
        )
    if code in DENIED:
        return errors.PermissionDenied(f"the key works but may not {what}{said}", where, status)
    if code in NOT_FOUND or code.endswith(".NotFound"):
        return errors.ImageNotFound(f"{what}: not found{said}", where, status)
    if code in CONFLICT:
        return errors.Conflict(f"{what}{said}", where, status)
    if code in QUOTA:
        return errors.QuotaExceeded(f"{what}: over the account's quota{said}", where, status)
    if code in RETRY or (status or 0) >= 500:
        return errors.ServerError(f"{what} failed, worth a retry{said}", where, status)
    return errors.BadRequest(f"{what} was refused{said}", where, status)
