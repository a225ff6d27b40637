"""The Home Assistant Supervisor's add-on ("app") validation, copied by
tools/vendor_supervisor.py from home-assistant/supervisor 2026.08.0
(commit 0b5b0ce15f30f5881962ccb1abbac329a6556b65), Apache License 2.0 like this project; from
supervisor/const.py, supervisor/apps/const.py, supervisor/docker/const.py,
supervisor/docker/utils.py, supervisor/validate.py, supervisor/apps/options.py,
supervisor/apps/validate.py.

Do not edit: run the tool again for another Supervisor release. Longer than this project's
modules because it is the Supervisor's code, kept whole (the schemas and everything they use).
"""
# ruff: noqa

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path, PurePath
from typing import Any, NotRequired, Self, TypedDict
import hashlib
import logging
import re
import secrets
import signal
import uuid

from awesomeversion import AwesomeVersion
import voluptuous as vol

# -- stand-ins for the Supervisor's core (not its code; never reached by this project) --
CoreSys = object


class CoreSysAttributes:
    """The Supervisor's accessors; only `!secret` and `device` options would use them."""


class HardwareNotFound(Exception):
    """Raised by the Supervisor's hardware lookup for `device` options."""


Device = object


def _create_device_filter(str_filter: str) -> dict[str, Any]:
    raise NotImplementedError("device options need the Supervisor's hardware manager")


INGRESS_DYNAMIC_PORT_MIN = 62000


INGRESS_DYNAMIC_PORT_MAX = 65500


ATTR_ADVANCED = "advanced"


ATTR_APPARMOR = "apparmor"


ATTR_ARCH = "arch"


ATTR_ARGS = "args"


ATTR_AUDIO = "audio"


ATTR_AUTH_API = "auth_api"


ATTR_BACKUP = "backup"


ATTR_BACKUP_EXCLUDE = "backup_exclude"


ATTR_BACKUP_POST = "backup_post"


ATTR_BACKUP_PRE = "backup_pre"


ATTR_BOOT = "boot"


ATTR_BUILD_FROM = "build_from"


ATTR_CONFIGURATION = "configuration"


ATTR_DESCRIPTON = "description"


ATTR_DEVICES = "devices"


ATTR_DEVICETREE = "devicetree"


ATTR_DISCOVERY = "discovery"


ATTR_DOCKER_API = "docker_api"


ATTR_ENVIRONMENT = "environment"


ATTR_FIELDS = "fields"


ATTR_FULL_ACCESS = "full_access"


ATTR_GPIO = "gpio"


ATTR_HASSIO_API = "hassio_api"


ATTR_HASSIO_ROLE = "hassio_role"


ATTR_HOMEASSISTANT = "homeassistant"


ATTR_HOMEASSISTANT_API = "homeassistant_api"


ATTR_HOST_DBUS = "host_dbus"


ATTR_HOST_IPC = "host_ipc"


ATTR_HOST_NETWORK = "host_network"


ATTR_HOST_PID = "host_pid"


ATTR_HOST_UTS = "host_uts"


ATTR_IMAGE = "image"


ATTR_INGRESS = "ingress"


ATTR_INGRESS_ENTRY = "ingress_entry"


ATTR_INGRESS_PORT = "ingress_port"


ATTR_INGRESS_STREAM = "ingress_stream"


ATTR_INIT = "init"


ATTR_JOURNALD = "journald"


ATTR_KERNEL_MODULES = "kernel_modules"


ATTR_LABELS = "labels"


ATTR_LEGACY = "legacy"


ATTR_MACHINE = "machine"


ATTR_MAP = "map"


ATTR_NAME = "name"


ATTR_NETWORK = "network"


ATTR_OPTIONS = "options"


ATTR_PANEL_ADMIN = "panel_admin"


ATTR_PANEL_ICON = "panel_icon"


ATTR_PANEL_TITLE = "panel_title"


ATTR_PATH = "path"


ATTR_PORTS = "ports"


ATTR_PORTS_DESCRIPTION = "ports_description"


ATTR_PRIVILEGED = "privileged"


ATTR_REALTIME = "realtime"


ATTR_SCHEMA = "schema"


ATTR_SERVICES = "services"


ATTR_SLUG = "slug"


ATTR_SQUASH = "squash"


ATTR_STAGE = "stage"


ATTR_STARTUP = "startup"


ATTR_STDIN = "stdin"


ATTR_TIMEOUT = "timeout"


ATTR_TMPFS = "tmpfs"


ATTR_TYPE = "type"


ATTR_UART = "uart"


ATTR_UDEV = "udev"


ATTR_ULIMITS = "ulimits"


ATTR_URL = "url"


ATTR_USB = "usb"


ATTR_VERSION = "version"


ATTR_VIDEO = "video"


ATTR_WATCHDOG = "watchdog"


ATTR_WEBUI = "webui"


ARCH_ARMHF = "armhf"


ARCH_ARMV7 = "armv7"


ARCH_AARCH64 = "aarch64"


ARCH_AMD64 = "amd64"


ARCH_I386 = "i386"


ARCH_ALL = [ARCH_AARCH64, ARCH_AMD64]


ARCH_DEPRECATED = [ARCH_ARMHF, ARCH_ARMV7, ARCH_I386]


ARCH_ALL_COMPAT = ARCH_ALL + ARCH_DEPRECATED


MACHINE_DEPRECATED = [
    "odroid-xu",
    "qemuarm",
    "qemux86",
    "raspberrypi",
    "raspberrypi2",
    "raspberrypi3",
    "raspberrypi4",
    "tinker",
]


ROLE_DEFAULT = "default"


ROLE_HOMEASSISTANT = "homeassistant"


ROLE_BACKUP = "backup"


ROLE_MANAGER = "manager"


ROLE_ADMIN = "admin"


ROLE_ALL = [ROLE_DEFAULT, ROLE_HOMEASSISTANT, ROLE_BACKUP, ROLE_MANAGER, ROLE_ADMIN]


class AppBootConfig(StrEnum):
    """Boot mode config for the app."""

    AUTO = "auto"
    MANUAL = "manual"
    MANUAL_ONLY = "manual_only"


class AppStartup(StrEnum):
    """Startup types of App."""

    INITIALIZE = "initialize"
    SYSTEM = "system"
    SERVICES = "services"
    APPLICATION = "application"
    ONCE = "once"


class AppStage(StrEnum):
    """Stage types of app."""

    STABLE = "stable"
    EXPERIMENTAL = "experimental"
    DEPRECATED = "deprecated"


class AppBackupMode(StrEnum):
    """Backup mode of an App."""

    HOT = "hot"
    COLD = "cold"


class MappingType(StrEnum):
    """Mapping type of an App Folder."""

    DATA = "data"
    CONFIG = "config"
    SSL = "ssl"
    LOCAL_APPS = "local_apps"
    BACKUP = "backup"
    SHARE = "share"
    MEDIA = "media"
    HOMEASSISTANT_CONFIG = "homeassistant_config"
    ALL_APP_CONFIGS = "all_app_configs"
    APP_CONFIG = "app_config"

    # Legacy, deprecated as of 2026.07; use app equivalents
    ADDONS = "addons"
    ALL_ADDON_CONFIGS = "all_addon_configs"
    ADDON_CONFIG = "addon_config"


ATTR_BREAKING_VERSIONS = "breaking_versions"


ATTR_CODENOTARY = "codenotary"


ATTR_READ_ONLY = "read_only"


RE_SLUG = r"[-_.A-Za-z0-9]+"


DOCKER_HUB = "docker.io"


class Capabilities(StrEnum):
    """Linux Capabilities."""

    BPF = "BPF"
    CHECKPOINT_RESTORE = "CHECKPOINT_RESTORE"
    DAC_READ_SEARCH = "DAC_READ_SEARCH"
    IPC_LOCK = "IPC_LOCK"
    NET_ADMIN = "NET_ADMIN"
    NET_RAW = "NET_RAW"
    PERFMON = "PERFMON"
    SYS_ADMIN = "SYS_ADMIN"
    SYS_MODULE = "SYS_MODULE"
    SYS_NICE = "SYS_NICE"
    SYS_PTRACE = "SYS_PTRACE"
    SYS_RAWIO = "SYS_RAWIO"
    SYS_RESOURCE = "SYS_RESOURCE"
    SYS_TIME = "SYS_TIME"


LEGACY_DEFAULT_DOMAIN = "index.docker.io"


LOCALHOST_DOMAIN = "localhost"


_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"


_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"


IMAGE_DOMAIN_REGEX = re.compile(
    rf"(?:{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*|{_IPV6_ADDRESS})"
    r"(?::[0-9]+)?"
)


def split_docker_domain(image_ref: str) -> tuple[str | None, str]:
    """Split a Docker image reference into registry domain and remainder.

    Returns None as the domain for images without an explicit registry, which
    are hosted on Docker Hub. The domain is not validated, use
    is_registry_domain() for that.

    Port of splitDockerDomain() from Docker's reference implementation:
    https://github.com/distribution/reference/blob/main/normalize.go

    Examples:
        split_docker_domain("nginx")               -> (None, "nginx")
        split_docker_domain("library/nginx")       -> (None, "library/nginx")
        split_docker_domain("ghcr.io/org/app:v1")  -> ("ghcr.io", "org/app:v1")
        split_docker_domain("localhost/myimage")   -> ("localhost", "myimage")
        split_docker_domain("myregistry:5000/app") -> ("myregistry:5000", "app")
        split_docker_domain("[::1]:5000/myimage")  -> ("[::1]:5000", "myimage")
        split_docker_domain("index.docker.io/a/b") -> ("docker.io", "a/b")

    """
    maybe_domain, separator, maybe_remainder = image_ref.partition("/")
    if not separator:
        # Single element like "nginx" is never a domain
        return None, image_ref

    if maybe_domain == LEGACY_DEFAULT_DOMAIN:
        # Canonicalize the legacy Docker Hub domain
        return DOCKER_HUB, maybe_remainder

    if (
        # localhost is a reserved namespace and always considered a domain
        maybe_domain == LOCALHOST_DOMAIN
        # A dot or colon means a domain, covering ports, IPv4 and IPv6 as well
        or "." in maybe_domain
        or ":" in maybe_domain
        # Uppercase is not allowed in a path component, so it must be a domain
        or maybe_domain.lower() != maybe_domain
    ):
        return maybe_domain, maybe_remainder

    return None, image_ref


def is_registry_domain(domain: str) -> bool:
    """Return True if the domain is a well-formed registry domain."""
    return IMAGE_DOMAIN_REGEX.fullmatch(domain) is not None


network_port = vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))


_RE_IMAGE_PATH_COMPONENT = re.compile(r"^[a-z0-9{][a-z0-9.\-_{}]*$")


def docker_image(image: str) -> str:
    """Validate a Docker image name without tag.

    Tags are not allowed as the version/tag is managed separately.
    """
    if not image or not isinstance(image, str):
        raise vol.Invalid(f"Expected a non-empty string for docker image, got: {image}")

    # Split off the registry if present (handles domains, IPv4/IPv6, ports,
    # localhost) to validate the remaining image path components
    registry, path = split_docker_domain(image)
    if registry:
        # Registry must be lowercase
        if registry != registry.lower():
            raise vol.Invalid(f"Docker image registry must be lowercase: {image}")
        if not is_registry_domain(registry):
            raise vol.Invalid(f"Invalid Docker image registry '{registry}' in: {image}")

    if not path:
        raise vol.Invalid(f"Docker image has no name: {image}")

    # Tags are not allowed - version is managed separately by the app system
    if ":" in path:
        raise vol.Invalid(f"Docker image must not contain a tag: {image}")

    # Validate each path component (org/name)
    for component in path.split("/"):
        if not _RE_IMAGE_PATH_COMPONENT.match(component):
            raise vol.Invalid(
                f"Invalid Docker image path component '{component}' in: {image}"
            )

    return image


def version_tag(
    value: str | None | float | AwesomeVersion,
) -> AwesomeVersion | None:
    """Validate main version handling."""
    if value is None:
        return None
    if isinstance(value, AwesomeVersion):
        return value
    return AwesomeVersion(value)


docker_port = vol.All(str, vol.Match(r"^\d+(?:/tcp|/udp)?$"))


docker_ports = vol.Schema({docker_port: vol.Maybe(network_port)})


docker_ports_description = vol.Schema({docker_port: str})


_STR = "str"


_INT = "int"


_FLOAT = "float"


_BOOL = "bool"


_PASSWORD = "password"


_EMAIL = "email"


_URL = "url"


_PORT = "port"


_MATCH = "match"


_LIST = "list"


_DEVICE = "device"


RE_SCHEMA_ELEMENT = re.compile(
    r"^(?:"
    r"|bool"
    r"|email"
    r"|url"
    r"|port"
    r"|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)"
    r"|list\((?P<list>.+)\)"
    r")\??$"
)


_SCHEMA_LENGTH_PARTS = (
    "i_min",
    "i_max",
    "f_min",
    "f_max",
    "s_min",
    "s_max",
    "p_min",
    "p_max",
)


class AppOptions(CoreSysAttributes):
    """Validate Apps Options."""

    def __init__(
        self, coresys: CoreSys, raw_schema: dict[str, Any], name: str, slug: str
    ):
        """Validate schema."""
        self.coresys: CoreSys = coresys
        self.raw_schema: dict[str, Any] = raw_schema
        self.devices: set[Device] = set()
        self.pwned: set[str] = set()
        self._name = name
        self._slug = slug

    @property
    def validate(self) -> vol.Schema:
        """Create a schema for app options."""
        return vol.Schema(vol.All(dict, self))

    def __call__(self, struct: dict[str, Any]) -> dict[str, Any]:
        """Create schema validator for apps options."""
        options = {}

        # read options
        for key, value in struct.items():
            # Ignore unknown options / remove from list
            if key not in self.raw_schema:
                _LOGGER.warning(
                    "Option '%s' does not exist in the schema for %s (%s)",
                    key,
                    self._name,
                    self._slug,
                )
                continue

            typ = self.raw_schema[key]
            try:
                options[key] = self._validate_element(typ, value, key)
            except (IndexError, KeyError):
                raise vol.Invalid(
                    f"Type error for option '{key}' in {self._name} ({self._slug})"
                ) from None

        self._check_missing_options(self.raw_schema, options, "root")
        return options

    # pylint: disable=no-value-for-parameter
    def _validate_element(self, typ: Any, value: Any, key: str) -> Any:
        """Validate a value against a type specification."""
        if isinstance(typ, list):
            # nested value list
            return self._nested_validate_list(typ[0], value, key)
        if isinstance(typ, dict):
            # nested value dict
            return self._nested_validate_dict(typ, value, key)
        # normal value
        return self._single_validate(typ, value, key)

    # pylint: disable=no-value-for-parameter
    def _single_validate(self, typ: str, value: Any, key: str) -> Any:
        """Validate a single element."""
        # if required argument
        if value is None:
            raise vol.Invalid(
                f"Missing required option '{key}' in {self._name} ({self._slug})"
            ) from None

        # Lookup secret
        if str(value).startswith("!secret "):
            secret: str = value.partition(" ")[2]
            value = self.sys_homeassistant.secrets.get(secret)
            if value is None:
                raise vol.Invalid(
                    f"Unknown secret '{secret}' in {self._name} ({self._slug})"
                ) from None

        # parse extend data from type
        match = RE_SCHEMA_ELEMENT.match(typ)

        if not match:
            raise vol.Invalid(
                f"Unknown type '{typ}' in {self._name} ({self._slug})"
            ) from None

        # prepare range
        range_args: dict[str, Any] = {}
        for group_name in _SCHEMA_LENGTH_PARTS:
            group_value = match.group(group_name)
            if group_value:
                range_args[group_name[2:]] = float(group_value)

        if typ.startswith(_STR) or typ.startswith(_PASSWORD):
            if typ.startswith(_PASSWORD) and value:
                self.pwned.add(hashlib.sha1(str(value).encode()).hexdigest())
            return vol.All(str, vol.Length(**range_args))(value)
        if typ.startswith(_INT):
            return vol.All(vol.Coerce(int), vol.Range(**range_args))(value)
        if typ.startswith(_FLOAT):
            return vol.All(vol.Coerce(float), vol.Range(**range_args))(value)
        if typ.startswith(_BOOL):
            return vol.Boolean()(value)
        if typ.startswith(_EMAIL):
            return vol.Email()(value)
        if typ.startswith(_URL):
            return vol.Url()(value)
        if typ.startswith(_PORT):
            return network_port(value)
        if typ.startswith(_MATCH):
            return vol.Match(match.group("match"))(str(value))
        if typ.startswith(_LIST):
            return vol.In(match.group("list").split("|"))(str(value))
        if typ.startswith(_DEVICE):
            if not isinstance(value, str):
                raise vol.Invalid(
                    f"Expected a string for option '{key}' in {self._name} ({self._slug})"
                )
            try:
                device = self.sys_hardware.get_by_path(Path(value))
            except HardwareNotFound:
                raise vol.Invalid(
                    f"Device '{value}' does not exist in {self._name} ({self._slug})"
                ) from None

            # Have filter
            if match.group("filter"):
                str_filter = match.group("filter")
                device_filter = _create_device_filter(str_filter)
                if device not in self.sys_hardware.filter_devices(**device_filter):
                    raise vol.Invalid(
                        f"Device '{value}' don't match the filter {str_filter}! in {self._name} ({self._slug})"
                    )

            # Device valid
            self.devices.add(device)
            return str(value)

        raise vol.Invalid(
            f"Fatal error for option '{key}' with type '{typ}' in {self._name} ({self._slug})"
        ) from None

    def extract_device_paths(self, options: dict[str, Any]) -> set[Path]:
        """Return raw device paths from options without full validation."""
        paths: set[Path] = set()
        self._collect_device_paths(self.raw_schema, options, paths)
        return paths

    def _collect_device_paths(
        self, schema: dict[str, Any], options: dict[str, Any], paths: set[Path]
    ) -> None:
        """Recursively collect raw device paths configured in options."""
        for key, typ in schema.items():
            if key not in options:
                continue
            value = options[key]
            if isinstance(typ, list) and len(typ) == 1:
                inner = typ[0]
                if isinstance(inner, str) and inner.startswith(_DEVICE):
                    for item in value if isinstance(value, list) else []:
                        if item:
                            paths.add(Path(str(item)))
                elif isinstance(inner, dict):
                    for item in value if isinstance(value, list) else []:
                        if isinstance(item, dict):
                            self._collect_device_paths(inner, item, paths)
            elif isinstance(typ, dict):
                if isinstance(value, dict):
                    self._collect_device_paths(typ, value, paths)
            elif isinstance(typ, str) and typ.startswith(_DEVICE):
                if value:
                    paths.add(Path(str(value)))

    def _nested_validate_list(self, typ: Any, data_list: Any, key: str) -> list[Any]:
        """Validate nested items."""
        options = []

        # Make sure it is a list
        if not isinstance(data_list, list):
            raise vol.Invalid(
                f"Invalid list for option '{key}' in {self._name} ({self._slug})"
            ) from None

        # Process list
        for element in data_list:
            # Nested?
            options.append(self._validate_element(typ, element, key))

        return options

    def _nested_validate_dict(
        self, typ: dict[Any, Any], data_dict: Any, key: str
    ) -> dict[Any, Any]:
        """Validate nested items."""
        options = {}

        # Make sure it is a dict
        if not isinstance(data_dict, dict):
            raise vol.Invalid(
                f"Invalid dict for option '{key}' in {self._name} ({self._slug})"
            ) from None

        # Process dict
        for c_key, c_value in data_dict.items():
            # Ignore unknown options / remove from list
            if c_key not in typ:
                _LOGGER.warning(
                    "Unknown option '%s' for %s (%s)", c_key, self._name, self._slug
                )
                continue

            # Nested?
            options[c_key] = self._validate_element(typ[c_key], c_value, c_key)

        self._check_missing_options(typ, options, key)
        return options

    def _check_missing_options(
        self, origin: dict[Any, Any], exists: dict[Any, Any], root: str
    ) -> None:
        """Check if all options are exists."""
        missing = set(origin) - set(exists)
        for miss_opt in missing:
            miss_schema = origin[miss_opt]

            # If its a list then value in list decides if its optional like ["str?"]
            if isinstance(miss_schema, list) and len(miss_schema) > 0:
                miss_schema = miss_schema[0]

            if isinstance(miss_schema, str) and miss_schema.endswith("?"):
                continue

            raise vol.Invalid(
                f"Missing option '{miss_opt}' in {root} in {self._name} ({self._slug})"
            ) from None


_LOGGER: logging.Logger = logging.getLogger(__name__)


RE_VOLUME = re.compile(
    r"^(data|config|ssl|local_apps|addons|backup|share|media|homeassistant_config|all_app_configs|all_addon_configs|app_config|addon_config)(?::(rw|ro))?$"
)


RE_SERVICE = re.compile(r"^(?P<service>mqtt|mysql):(?P<rights>provide|want|need)$")


RE_DOCKER_IMAGE_BUILD = re.compile(
    r"^([a-zA-Z\-\.:\d{}]+/)*?([\-\w{}]+)/([\-\w{}]+)(:[\.\-\w{}]+)?$"
)


SCHEMA_ELEMENT = vol.Schema(
    vol.Any(
        vol.Match(RE_SCHEMA_ELEMENT),
        [
            # A list may not directly contain another list
            vol.Any(
                vol.Match(RE_SCHEMA_ELEMENT),
                {str: vol.Self},
            )
        ],
        {str: vol.Self},
    )
)


RE_MACHINE = re.compile(
    r"^!?(?:"
    r"|intel-nuc"
    r"|khadas-vim3"
    r"|generic-aarch64"
    r"|generic-x86-64"
    r"|odroid-c2"
    r"|odroid-c4"
    r"|odroid-m1"
    r"|odroid-n2"
    r"|odroid-xu"
    r"|qemuarm-64"
    r"|qemuarm"
    r"|qemux86-64"
    r"|qemux86"
    r"|raspberrypi"
    r"|raspberrypi2"
    r"|raspberrypi3-64"
    r"|raspberrypi3"
    r"|raspberrypi4-64"
    r"|raspberrypi4"
    r"|raspberrypi5-64"
    r"|yellow"
    r"|green"
    r"|tinker"
    r")$"
)


RE_SLUG_FIELD = re.compile(r"^" + RE_SLUG + r"$")


def _warn_app_config(log: Callable[..., None]):
    """Build a validator that flags questionable app configs.

    Deprecation and misconfiguration advisories are emitted through ``log`` so
    the caller can pick the level appropriate for the audience (see
    SCHEMA_APP_CONFIG vs. SCHEMA_APP_CONFIG_QUIET). The messages are addressed at
    whoever can act on them (a local app's author or a developer on the dev
    channel), so they intentionally do not ask the reader to contact a
    maintainer.
    """

    def _warn(config: dict[str, Any]):
        name = config.get(ATTR_NAME)
        if not name:
            raise vol.Invalid("Invalid app config!")

        if ATTR_ADVANCED in config:
            # Deprecated since Supervisor 2026.03.0; this field is ignored and
            # the advisory can be removed once that version is the minimum
            # supported.
            log(
                "App '%s' uses the deprecated 'advanced' config field, which is ignored.",
                name,
            )

        if config.get(ATTR_FULL_ACCESS, False) and (
            config.get(ATTR_DEVICES)
            or config.get(ATTR_UART)
            or config.get(ATTR_USB)
            or config.get(ATTR_GPIO)
        ):
            log(
                "App '%s' has full device access; its selective device access configuration is redundant and ignored.",
                name,
            )

        if config.get(ATTR_BACKUP, AppBackupMode.HOT) == AppBackupMode.COLD and (
            config.get(ATTR_BACKUP_POST) or config.get(ATTR_BACKUP_PRE)
        ):
            log(
                "App '%s' only supports COLD backups but configures pre/post backup commands, which are ignored.",
                name,
            )

        if deprecated_arches := [
            arch for arch in config.get(ATTR_ARCH, []) if arch in ARCH_DEPRECATED
        ]:
            log(
                "App '%s' uses deprecated 'arch' values: %s",
                name,
                deprecated_arches,
            )

        if deprecated_machines := [
            machine
            for machine in config.get(ATTR_MACHINE, [])
            if machine.lstrip("!") in MACHINE_DEPRECATED
        ]:
            log(
                "App '%s' uses deprecated 'machine' values: %s",
                name,
                deprecated_machines,
            )

        if ATTR_CODENOTARY in config:
            log(
                "App '%s' uses the deprecated 'codenotary' config field, which is no longer used and ignored.",
                name,
            )

        # Deprecated map types, deprecated as of 2026.07
        _LEGACY_MAP_TYPES = {
            MappingType.ADDONS: MappingType.LOCAL_APPS,
            MappingType.ALL_ADDON_CONFIGS: MappingType.ALL_APP_CONFIGS,
            MappingType.ADDON_CONFIG: MappingType.APP_CONFIG,
        }
        for volume in config[ATTR_MAP]:
            if (volume_type := volume[ATTR_TYPE]) in _LEGACY_MAP_TYPES:
                log(
                    "App '%s' uses legacy map type '%s'; use '%s' instead.",
                    name,
                    volume_type,
                    _LEGACY_MAP_TYPES[volume_type],
                )

        # Dynamic ingress port selection (ingress_port: 0) picks a random port
        # from the INGRESS_DYNAMIC_PORT_MIN-INGRESS_DYNAMIC_PORT_MAX range. An
        # app must not map a port from that range to the host itself, as the
        # dynamically chosen ingress port could then coincide with it, exposing
        # the ingress endpoint on the host and bypassing ingress authentication.
        if config.get(ATTR_INGRESS) and config.get(ATTR_INGRESS_PORT) == 0:
            for container_port in config.get(ATTR_PORTS, {}):
                port_number = str(container_port).partition("/")[0]
                if (
                    port_number.isdigit()
                    and INGRESS_DYNAMIC_PORT_MIN
                    <= int(port_number)
                    <= INGRESS_DYNAMIC_PORT_MAX
                ):
                    raise vol.Invalid(
                        f"App '{name}' uses dynamic ingress port selection (ingress_port: 0) "
                        f"but maps port {port_number} which is reserved for dynamic ingress "
                        f"ports ({INGRESS_DYNAMIC_PORT_MIN}-{INGRESS_DYNAMIC_PORT_MAX}). "
                        "Please report this to the maintainer of the app."
                    )

        return config

    return _warn


def _migrate_app_config(log: Callable[..., None]):
    """Migrate app config.

    Deprecated-format advisories are emitted through ``log`` so the caller can
    pick the level appropriate for the audience (see SCHEMA_APP_CONFIG vs.
    SCHEMA_APP_CONFIG_QUIET). The migration itself always happens regardless of
    the level.
    """

    def _migrate(config: dict[str, Any]):
        if not isinstance(config, dict):
            raise vol.Invalid("App config must be a dictionary!")
        name = config.get(ATTR_NAME)
        if not name:
            raise vol.Invalid("Invalid app config!")

        # Startup 2018-03-30
        if config.get(ATTR_STARTUP) in ("before", "after"):
            value = config[ATTR_STARTUP]
            log(
                "App '%s' uses deprecated 'startup' value '%s'.",
                name,
                value,
            )
            if value == "before":
                config[ATTR_STARTUP] = AppStartup.SERVICES
            elif value == "after":
                config[ATTR_STARTUP] = AppStartup.APPLICATION

        # UART 2021-01-20
        if "auto_uart" in config:
            log(
                "App '%s' uses deprecated 'auto_uart'; use 'uart' instead.",
                name,
            )
            config[ATTR_UART] = config.pop("auto_uart")

        # Device 2021-01-20
        if ATTR_DEVICES in config and any(":" in line for line in config[ATTR_DEVICES]):
            log(
                "App '%s' uses a deprecated 'devices' format; use a list of paths only.",
                name,
            )
            config[ATTR_DEVICES] = [line.split(":")[0] for line in config[ATTR_DEVICES]]

        # TMPFS 2021-02-01
        if ATTR_TMPFS in config and not isinstance(config[ATTR_TMPFS], bool):
            log(
                "App '%s' uses a deprecated 'tmpfs' format; use a boolean instead.",
                name,
            )
            config[ATTR_TMPFS] = True

        # 2021-06 "snapshot" renamed to "backup"
        for entry in (
            "snapshot_exclude",
            "snapshot_post",
            "snapshot_pre",
            "snapshot",
        ):
            if entry in config:
                new_entry = entry.replace("snapshot", "backup")
                config[new_entry] = config.pop(entry)
                log(
                    "App '%s' uses deprecated config '%s'; use '%s' instead.",
                    name,
                    entry,
                    new_entry,
                )

        # 2023-11 "map" entries can also be dict to allow path configuration
        volumes = []
        for entry in config.get(ATTR_MAP, []):
            if isinstance(entry, dict):
                # Validate that dict entries have required 'type' field
                if ATTR_TYPE not in entry:
                    log(
                        "App '%s' has an invalid map entry missing the 'type' field, skipping: %s",
                        name,
                        entry,
                    )
                    continue
                volumes.append(entry)
            if isinstance(entry, str):
                result = RE_VOLUME.match(entry)
                if not result:
                    log(
                        "App '%s' has an invalid map entry, skipping: %s",
                        name,
                        entry,
                    )
                    continue
                volumes.append(
                    {
                        ATTR_TYPE: result.group(1),
                        ATTR_READ_ONLY: result.group(2) != "rw",
                    }
                )

        # Always update config to clear potentially malformed ones
        config[ATTR_MAP] = volumes

        # 2023-10 "config" became "homeassistant" so /config can be used for app's public config
        if any(volume[ATTR_TYPE] == MappingType.CONFIG for volume in volumes):
            if any(
                volume
                and volume[ATTR_TYPE]
                in {
                    MappingType.APP_CONFIG,
                    MappingType.ADDON_CONFIG,
                    MappingType.HOMEASSISTANT_CONFIG,
                }
                for volume in volumes
            ):
                log(
                    "App '%s' uses incompatible map options; '%s', '%s', and '%s' are ignored when '%s' is included.",
                    name,
                    MappingType.APP_CONFIG,
                    MappingType.ADDON_CONFIG,
                    MappingType.HOMEASSISTANT_CONFIG,
                    MappingType.CONFIG,
                )
            else:
                log(
                    "App '%s' uses deprecated map option '%s'; use '%s' instead.",
                    name,
                    MappingType.CONFIG,
                    MappingType.HOMEASSISTANT_CONFIG,
                )

        # 2026-07 addon-based map options replaced by app-based options.
        volume_types = {volume[ATTR_TYPE] for volume in volumes}
        for app_mapping_type, legacy_mapping_type in (
            (MappingType.LOCAL_APPS, MappingType.ADDONS),
            (MappingType.ALL_APP_CONFIGS, MappingType.ALL_ADDON_CONFIGS),
            (MappingType.APP_CONFIG, MappingType.ADDON_CONFIG),
        ):
            if {app_mapping_type, legacy_mapping_type} <= volume_types:
                log(
                    "App '%s' uses incompatible map options '%s' and '%s'; legacy option '%s' will be ignored.",
                    name,
                    app_mapping_type,
                    legacy_mapping_type,
                    legacy_mapping_type,
                )

        return config

    return _migrate


_SCHEMA_APP_CONFIG = vol.Schema(
    {
        vol.Required(ATTR_NAME): str,
        vol.Required(ATTR_VERSION): version_tag,
        vol.Required(ATTR_SLUG): vol.Match(RE_SLUG_FIELD),
        vol.Required(ATTR_DESCRIPTON): str,
        vol.Required(ATTR_ARCH): [vol.In(ARCH_ALL_COMPAT)],
        vol.Optional(ATTR_MACHINE): vol.All([vol.Match(RE_MACHINE)], vol.Unique()),
        vol.Optional(ATTR_URL): vol.Url(),
        vol.Optional(ATTR_STARTUP, default=AppStartup.APPLICATION): vol.Coerce(
            AppStartup
        ),
        vol.Optional(ATTR_BOOT, default=AppBootConfig.AUTO): vol.Coerce(AppBootConfig),
        vol.Optional(ATTR_INIT, default=True): vol.Boolean(),
        vol.Optional(ATTR_ADVANCED, default=False): vol.Boolean(),
        vol.Optional(ATTR_STAGE, default=AppStage.STABLE): vol.Coerce(AppStage),
        vol.Optional(ATTR_PORTS): docker_ports,
        vol.Optional(ATTR_PORTS_DESCRIPTION): docker_ports_description,
        vol.Optional(ATTR_WATCHDOG): vol.Match(
            r"^(?:https?|\[PROTO:\w+\]|tcp):\/\/\[HOST\]:(\[PORT:\d+\]|\d+).*$"
        ),
        vol.Optional(ATTR_WEBUI): vol.Match(
            r"^(?:https?|\[PROTO:\w+\]):\/\/\[HOST\]:\[PORT:\d+\].*$"
        ),
        vol.Optional(ATTR_INGRESS, default=False): vol.Boolean(),
        vol.Optional(ATTR_INGRESS_PORT, default=8099): vol.Any(
            network_port, vol.Equal(0)
        ),
        vol.Optional(ATTR_INGRESS_ENTRY): str,
        vol.Optional(ATTR_INGRESS_STREAM, default=False): vol.Boolean(),
        vol.Optional(ATTR_PANEL_ICON, default="mdi:puzzle"): str,
        vol.Optional(ATTR_PANEL_TITLE): str,
        vol.Optional(ATTR_PANEL_ADMIN, default=True): vol.Boolean(),
        vol.Optional(ATTR_HOMEASSISTANT): version_tag,
        vol.Optional(ATTR_HOST_NETWORK, default=False): vol.Boolean(),
        vol.Optional(ATTR_HOST_PID, default=False): vol.Boolean(),
        vol.Optional(ATTR_HOST_IPC, default=False): vol.Boolean(),
        vol.Optional(ATTR_HOST_UTS, default=False): vol.Boolean(),
        vol.Optional(ATTR_HOST_DBUS, default=False): vol.Boolean(),
        vol.Optional(ATTR_DEVICES): [str],
        vol.Optional(ATTR_UDEV, default=False): vol.Boolean(),
        vol.Optional(ATTR_TMPFS, default=False): vol.Boolean(),
        vol.Optional(ATTR_MAP, default=list): [
            vol.Schema(
                {
                    vol.Required(ATTR_TYPE): vol.Coerce(MappingType),
                    vol.Optional(ATTR_READ_ONLY, default=True): bool,
                    vol.Optional(ATTR_PATH): str,
                }
            )
        ],
        vol.Optional(ATTR_ENVIRONMENT): {vol.Match(r"\w*"): str},
        vol.Optional(ATTR_PRIVILEGED): [vol.Coerce(Capabilities)],
        vol.Optional(ATTR_APPARMOR, default=True): vol.Boolean(),
        vol.Optional(ATTR_FULL_ACCESS, default=False): vol.Boolean(),
        vol.Optional(ATTR_AUDIO, default=False): vol.Boolean(),
        vol.Optional(ATTR_VIDEO, default=False): vol.Boolean(),
        vol.Optional(ATTR_GPIO, default=False): vol.Boolean(),
        vol.Optional(ATTR_USB, default=False): vol.Boolean(),
        vol.Optional(ATTR_UART, default=False): vol.Boolean(),
        vol.Optional(ATTR_DEVICETREE, default=False): vol.Boolean(),
        vol.Optional(ATTR_KERNEL_MODULES, default=False): vol.Boolean(),
        vol.Optional(ATTR_REALTIME, default=False): vol.Boolean(),
        vol.Optional(ATTR_HASSIO_API, default=False): vol.Boolean(),
        vol.Optional(ATTR_HASSIO_ROLE, default=ROLE_DEFAULT): vol.In(ROLE_ALL),
        vol.Optional(ATTR_HOMEASSISTANT_API, default=False): vol.Boolean(),
        vol.Optional(ATTR_STDIN, default=False): vol.Boolean(),
        vol.Optional(ATTR_LEGACY, default=False): vol.Boolean(),
        vol.Optional(ATTR_DOCKER_API, default=False): vol.Boolean(),
        vol.Optional(ATTR_AUTH_API, default=False): vol.Boolean(),
        vol.Optional(ATTR_SERVICES): [vol.Match(RE_SERVICE)],
        vol.Optional(ATTR_DISCOVERY): [str],
        vol.Optional(ATTR_BACKUP_EXCLUDE): [str],
        vol.Optional(ATTR_BACKUP_PRE): str,
        vol.Optional(ATTR_BACKUP_POST): str,
        vol.Optional(ATTR_BACKUP, default=AppBackupMode.HOT): vol.Coerce(AppBackupMode),
        vol.Optional(ATTR_OPTIONS, default={}): dict,
        vol.Optional(ATTR_SCHEMA, default={}): vol.Any(
            vol.Schema({str: SCHEMA_ELEMENT}),
            False,
        ),
        vol.Optional(ATTR_IMAGE): docker_image,
        vol.Optional(ATTR_ULIMITS, default=dict): vol.Any(
            {str: vol.Coerce(int)},  # Simple format: {name: limit}
            {
                str: vol.Any(
                    vol.Coerce(int),  # Simple format for individual entries
                    vol.Schema(
                        {  # Detailed format for individual entries
                            vol.Required("soft"): vol.Coerce(int),
                            vol.Required("hard"): vol.Coerce(int),
                        }
                    ),
                )
            },
        ),
        vol.Optional(ATTR_TIMEOUT, default=10): vol.All(
            vol.Coerce(int), vol.Range(min=10, max=300)
        ),
        vol.Optional(ATTR_JOURNALD, default=False): vol.Boolean(),
        vol.Optional(ATTR_BREAKING_VERSIONS, default=list): [version_tag],
    },
    extra=vol.REMOVE_EXTRA,
)


def _build_app_config_schema(log: Callable[..., None]):
    """Build the store app config schema, routing advisories through log."""
    return vol.All(_migrate_app_config(log), _warn_app_config(log), _SCHEMA_APP_CONFIG)


SCHEMA_APP_CONFIG = _build_app_config_schema(_LOGGER.warning)


SCHEMA_BUILD_CONFIG = vol.Schema(
    {
        vol.Optional(ATTR_BUILD_FROM, default=dict): vol.Any(
            vol.Match(RE_DOCKER_IMAGE_BUILD),
            vol.Schema({vol.In(ARCH_ALL_COMPAT): vol.Match(RE_DOCKER_IMAGE_BUILD)}),
        ),
        vol.Optional(ATTR_SQUASH, default=False): vol.Boolean(),
        vol.Optional(ATTR_ARGS, default=dict): vol.Schema({str: str}),
        vol.Optional(ATTR_LABELS, default=dict): vol.Schema({str: str}),
    },
    extra=vol.REMOVE_EXTRA,
)


SCHEMA_TRANSLATION_CONFIGURATION = vol.Schema(
    {
        vol.Required(ATTR_NAME): str,
        vol.Optional(ATTR_DESCRIPTON): vol.Maybe(str),
        vol.Optional(ATTR_FIELDS): {str: vol.Self},
    },
    extra=vol.REMOVE_EXTRA,
)


SCHEMA_APP_TRANSLATIONS = vol.Schema(
    {
        vol.Optional(ATTR_CONFIGURATION): {str: SCHEMA_TRANSLATION_CONFIGURATION},
        vol.Optional(ATTR_NETWORK): {str: str},
    },
    extra=vol.REMOVE_EXTRA,
)
