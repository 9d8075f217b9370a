# Sourced by bin/c2c, bin/c2c-mcp and bin/c2c-hook (not run on its own).
#
# c2c_nats_grants: with C2C_BROKER_URL set (the NATS store), computes what a
# process needs beyond the local broker directory, the way natsGrants() in
# lib/store/nats/url.ts does (a test compares the two for many URLs):
#   nats_net   host:port of each server, comma-separated (--allow-net)
#   nats_read  the CA, .creds or nkey seed file named (--allow-read)
# and, when no namespace is given, hands the process the repository's
# `origin` remote (C2C_BROKER_ORIGIN), which it normalises into the
# namespace, or the namespace `default` when there is none: the process
# itself may not run git. A URL that does not parse
# gets what it seems to name; the process then reports exactly what is wrong
# before it dials anything.
c2c_nats_grants() {
  nats_net= nats_read=
  [ -n "${C2C_BROKER_URL:-}" ] || return 0
  _rest=$C2C_BROKER_URL,
  while [ -n "$_rest" ]; do
    _entry=${_rest%%,*}
    _rest=${_rest#*,}
    _entry=${_entry#"${_entry%%[! ]*}"} # trim blanks (the URL may be spaced)
    _entry=${_entry%"${_entry##*[! ]}"}
    [ -n "$_entry" ] || continue
    case $_entry in *://*) _entry=${_entry#*://} ;; esac
    _entry=${_entry%/}
    _entry=${_entry##*@} # credentials before the last '@'
    case $_entry in
      \[*\]:*) _host=${_entry%%]*}] _port=${_entry##*]:} ;;
      \[*\]) _host=$_entry _port= ;;
      *:*) _host=${_entry%%:*} _port=${_entry#*:} ;;
      *) _host=$_entry _port= ;;
    esac
    case $_host in *[A-Z]*) _host=$(printf %s "$_host" | tr A-Z a-z) ;; esac
    # A port as the process reads it: digits, no leading zeros.
    case $_port in '' | *[!0-9]*) _port=4222 ;; esac
    while case $_port in 0?*) true ;; *) false ;; esac; do _port=${_port#0}; done
    case ,$nats_net, in *,"$_host:$_port",*) ;; *) nats_net=${nats_net:+$nats_net,}$_host:$_port ;; esac
  done
  for _file in "${C2C_NATS_CA:-}" "${C2C_NATS_NKEY:-}" "${C2C_NATS_CREDS:-}"; do
    [ -n "$_file" ] || continue
    case ,$nats_read, in *,"$_file",*) ;; *) nats_read=${nats_read:+$nats_read,}$_file ;; esac
  done
  if [ -z "${C2C_BROKER_NAMESPACE:-}" ] && [ -z "${C2C_BROKER_ORIGIN:-}" ]; then
    if C2C_BROKER_ORIGIN=$(git config --get remote.origin.url 2>/dev/null) &&
      [ -n "$C2C_BROKER_ORIGIN" ]; then
      export C2C_BROKER_ORIGIN
    else
      # No origin remote (or no repository): the documented default.
      C2C_BROKER_NAMESPACE=default
      export C2C_BROKER_NAMESPACE
    fi
  fi
}
