# Dispatch: one image for every daemon and the worker; the command picks the role.
# Build stage: restore and publish inside the build, so the host needs no .NET SDK.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props ./
COPY src/Dispatch/Dispatch.csproj src/Dispatch/
COPY src/Dispatch.Cli/Dispatch.Cli.csproj src/Dispatch.Cli/
RUN dotnet restore src/Dispatch.Cli/Dispatch.Cli.csproj
COPY src/ src/
COPY examples/executors/ examples/executors/
RUN dotnet publish src/Dispatch.Cli/Dispatch.Cli.csproj -c Release --no-restore -o /app

# Run stage: the .NET runtime image (Debian, with bash and setsid, which the executor
# guard needs); the smaller runtime-deps image would need a self-contained publish.
FROM mcr.microsoft.com/dotnet/runtime:10.0
COPY --from=build /app /app
RUN ln -s /app/dispatch /usr/local/bin/dispatch \
    && mkdir -p /data \
    && chown "$APP_UID" /data
WORKDIR /data
ENV DISPATCH_DataDir=/data/.dispatch
USER $APP_UID
ENTRYPOINT ["dispatch"]
CMD ["status"]
