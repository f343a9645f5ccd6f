#!/bin/sh
# One-shot setup of the Garage store for Pictor, through Garage's admin API (v2): gives the
# node a role in the cluster layout, creates the bucket and an access key allowed to read and
# write it, and hands the key to the Pictor nodes as an environment file in a shared volume.
# Safe to run again: each step is skipped when done, and a key handed out before is kept.
#
# Environment: GARAGE_ADMIN_URL, GARAGE_ADMIN_TOKEN, PICTOR_BUCKET, GARAGE_CAPACITY_BYTES,
# CREDENTIALS (the file written), PICTOR_UID (its owner: the nodes' user).
set -eu

api=${GARAGE_ADMIN_URL:-http://garage:3903}
bucket_name=${PICTOR_BUCKET:-pictor}
capacity=${GARAGE_CAPACITY_BYTES:-10000000000}
out=${CREDENTIALS:-/run/pictor-s3/credentials.env}
owner=${PICTOR_UID:-10001}

# call METHOD PATH [JSON]: one admin API call; fails on an HTTP error.
call() {
    if [ $# -eq 3 ]; then
        curl -fsS -X "$1" -H "Authorization: Bearer $GARAGE_ADMIN_TOKEN" \
            -H 'Content-Type: application/json' --data "$3" "$api$2"
    else
        curl -fsS -X "$1" -H "Authorization: Bearer $GARAGE_ADMIN_TOKEN" "$api$2"
    fi
}

# retry COMMAND...: runs a command until it succeeds, at most 60 times a second apart.
retry() {
    n=0
    until "$@"; do
        n=$((n + 1))
        if [ "$n" -ge 60 ]; then
            echo "garage-init: gave up: $*" >&2
            return 1
        fi
        sleep 1
    done
}

retry call GET /v2/GetClusterStatus >/dev/null

layout=$(call GET /v2/GetClusterLayout)
if [ "$(printf '%s' "$layout" | jq '.roles | length')" -eq 0 ]; then
    node=$(call GET /v2/GetClusterStatus | jq -r '.nodes[0].id')
    roles=$(jq -nc --arg id "$node" --argjson capacity "$capacity" \
        '{roles: [{id: $id, zone: "dc1", capacity: $capacity, tags: ["pictor"]}]}')
    call POST /v2/UpdateClusterLayout "$roles" >/dev/null
    next=$(printf '%s' "$layout" | jq '.version + 1')
    call POST /v2/ApplyClusterLayout "{\"version\": $next}" >/dev/null
    echo "garage-init: layout version $next applied to node $node"
fi

if ! bucket=$(call GET "/v2/GetBucketInfo?globalAlias=$bucket_name" 2>/dev/null); then
    bucket=$(retry call POST /v2/CreateBucket "{\"globalAlias\": \"$bucket_name\"}")
    echo "garage-init: bucket $bucket_name created"
fi
bucket_id=$(printf '%s' "$bucket" | jq -r .id)

AWS_ACCESS_KEY_ID=""
if [ -s "$out" ]; then
    # shellcheck disable=SC1090
    . "$out"
fi
if [ -z "$AWS_ACCESS_KEY_ID" ] ||
    ! call GET "/v2/GetKeyInfo?id=$AWS_ACCESS_KEY_ID" >/dev/null 2>&1; then
    key=$(call POST /v2/CreateKey '{"name": "pictor"}')
    AWS_ACCESS_KEY_ID=$(printf '%s' "$key" | jq -r .accessKeyId)
    secret=$(printf '%s' "$key" | jq -r .secretAccessKey)
    umask 077
    printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$AWS_ACCESS_KEY_ID" "$secret" \
        >"$out.tmp"
    chown "$owner" "$out.tmp"
    chmod 0400 "$out.tmp"
    mv "$out.tmp" "$out"
    echo "garage-init: key $AWS_ACCESS_KEY_ID created and handed to the nodes"
fi

permissions="{\"bucketId\": \"$bucket_id\", \"accessKeyId\": \"$AWS_ACCESS_KEY_ID\",
    \"permissions\": {\"read\": true, \"write\": true, \"owner\": false}}"
call POST /v2/AllowBucketKey "$permissions" >/dev/null
echo "garage-init: bucket $bucket_name ready for key $AWS_ACCESS_KEY_ID"
